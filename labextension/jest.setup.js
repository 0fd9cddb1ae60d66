/**
 * Jest setup: minimal polyfills for jsdom test files.
 *
 * jsdom has no `DragEvent`, which `@lumino/dragdrop` (a dependency of
 * `@lumino/widgets`) subclasses when it loads.
 */
if (typeof window !== 'undefined' && typeof window.DragEvent === 'undefined') {
  class DragEvent extends window.MouseEvent {
    constructor(type, init = {}) {
      super(type, init);
      this.dataTransfer = init.dataTransfer ?? null;
    }
  }
  window.DragEvent = DragEvent;
  globalThis.DragEvent = DragEvent;
}

// jsdom lacks the WHATWG encoders that browsers (and Node) have.
const util = require('util');
if (typeof globalThis.TextEncoder === 'undefined') {
  globalThis.TextEncoder = util.TextEncoder;
}
if (typeof globalThis.TextDecoder === 'undefined') {
  globalThis.TextDecoder = util.TextDecoder;
}
