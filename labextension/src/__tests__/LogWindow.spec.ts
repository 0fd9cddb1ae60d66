/**
 * Unit tests of the bounded line window: lines split across chunks, byte
 * offsets in UTF-8, the bound with the partial line, the ring's compaction,
 * earlier text in front and making room at the end.
 */

import { LogWindow } from '../models/LogWindow';
import { windowTexts } from './fakes';

const texts = windowTexts;

/** Where the last complete line ends: the start plus every line's bytes. */
function endOffset(window: LogWindow): number {
  let end = window.firstOffset;
  for (let i = 0; i < window.length; i++) {
    end += window.lineAt(i).bytes;
  }
  return end;
}

describe('LogWindow', () => {
  it('counts UTF-8 bytes as the server does', () => {
    const encoder = new TextEncoder();
    for (const text of ['abc', 'é', '€', '🙂', 'a\u0301', '\ud800x']) {
      const expected = text === '\ud800x' ? 4 : encoder.encode(text).length; // lone surrogate: U+FFFD + x
      expect(LogWindow.utf8Length(text)).toBe(expected);
    }
  });

  it('splits lines across chunks and tracks their byte offsets', () => {
    const window = new LogWindow({ maxLines: 10 });
    window.append('ab');
    window.append('c\n€');
    window.append('\n\nend');
    expect(texts(window)).toEqual(['abc', '€', '']);
    expect(window.lineAt(1).bytes).toBe(4);
    expect(endOffset(window)).toBe(4 + 4 + 1);
    expect(window.partial?.[0].text).toBe('end');
    window.finish();
    expect(texts(window)).toEqual(['abc', '€', '', 'end']);
    expect(endOffset(window)).toBe(12);
    expect(window.partial).toBeNull();
  });

  it('keeps the bound, the partial line included, over many appends', () => {
    const window = new LogWindow({ maxLines: 3 });
    let full = '';
    for (let i = 0; i < 10000; i++) {
      full += `${i}\n`;
    }
    for (let at = 0; at < full.length; at += 7) {
      window.append(full.slice(at, at + 7));
      expect(window.length + (window.partial ? 1 : 0)).toBeLessThanOrEqual(3);
    }
    expect(texts(window)).toEqual(['9997', '9998', '9999']);
    expect(window.firstSeq).toBe(9997); // the lines dropped in all
    // Offsets still add up after the ring was compacted many times.
    let bytes = 0;
    for (let i = 0; i < 9997; i++) {
      bytes += String(i).length + 1;
    }
    expect(window.firstOffset).toBe(bytes);
  });

  it('puts earlier text in front, at the byte offset it starts at', () => {
    const window = new LogWindow({ maxLines: 10 });
    window.reset(10);
    window.append('c\n');
    expect(window.prepend('a\nb\n', 6)).toEqual({ added: 2, madeRoom: false });
    expect(texts(window)).toEqual(['a', 'b', 'c']);
    expect(window.firstOffset).toBe(6);
    expect(window.firstSeq).toBe(-2);
    // A piece of a long line (no newline) with its exact start.
    expect(window.prepend('…long', 1).added).toBe(1);
    expect(window.lineAt(0).bytes).toBe(7);
    expect(window.firstOffset).toBe(1);
  });

  it('makes room at the end, the partial line first', () => {
    const window = new LogWindow({ maxLines: 3 });
    window.reset(100);
    window.append('x\ny\npart');
    expect(window.prepend('w\n', 98)).toEqual({ added: 1, madeRoom: true });
    expect(texts(window)).toEqual(['w', 'x', 'y']);
    expect(window.partial).toBeNull();
    expect(endOffset(window)).toBe(104);
    expect(window.prepend('u\nv\n', 94)).toEqual({ added: 2, madeRoom: true });
    expect(texts(window)).toEqual(['u', 'v', 'w']);
    expect(window.firstOffset).toBe(94);
    expect(endOffset(window)).toBe(100);
    // More lines than fit: only the last ones, the start moved on.
    expect(window.prepend('p\nq\nr\ns\nt\n', 84).added).toBe(3);
    expect(texts(window)).toEqual(['r', 's', 't']);
    expect(window.firstOffset).toBe(88);
    expect(endOffset(window)).toBe(94);
  });

  it('keeps a progress bar that redraws itself short, offsets exact', () => {
    const window = new LogWindow({ maxLines: 10 });
    window.append('start\n\x1b[32m');
    let bytes = 6 + 5;
    for (let i = 0; i <= 100000; i++) {
      const update = `\r${i} it/s`;
      window.append(update);
      bytes += update.length;
    }
    // Only the last redraw is kept, in the colour set before it.
    expect(window.partial).toEqual([
      { text: '100000 it/s', classes: ['iog-ansi-fg-2'] }
    ]);
    window.append('\x1b[0m done\n');
    bytes += 10;
    expect(window.lineAt(1).segments).toEqual([
      { text: '100000 it/s', classes: ['iog-ansi-fg-2'] },
      { text: ' done', classes: [] }
    ]);
    expect(endOffset(window)).toBe(bytes);
  });

  it('shows a line longer than the partial limit in pieces', () => {
    const window = new LogWindow({ maxLines: 10 });
    const long = 'x'.repeat(40000);
    window.append(long);
    window.append(long);
    window.append('\n');
    expect(window.length).toBe(2);
    expect(window.lineAt(0).bytes + window.lineAt(1).bytes).toBe(80001);
    expect(endOffset(window)).toBe(80001);
  });

  it('starts a new generation on reset', () => {
    const window = new LogWindow({ maxLines: 3 });
    window.append('a\n');
    const generation = window.generation;
    window.reset(50);
    expect(window.generation).toBe(generation + 1);
    expect(window.length).toBe(0);
    expect(window.firstOffset).toBe(50);
    expect(endOffset(window)).toBe(50);
  });
});
