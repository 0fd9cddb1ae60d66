import { Widget } from '@lumino/widgets';

import { button, el, setText, uniqueId } from './dom';

/**
 * One collapsible section of the Ray sidebar: a `<section>` labelled by its
 * name, an `<h2>` heading whose button expands or collapses the body, a
 * toolbar, an error line and the body.
 *
 * The cluster, jobs, sessions, actors and usage sections extend it.
 */
export class SidebarSection extends Widget {
  constructor(options: SidebarSection.IOptions) {
    super({ node: document.createElement('section') });
    this.key = options.key;
    this.addClass('iog-SidebarSection');
    this.addClass(options.className);
    this.node.setAttribute('aria-label', options.label);
    this.node.dataset.section = options.key;

    this.contentNode.id = uniqueId(`iog-SidebarSection-body-${options.key}`);
    this._toggle = button(
      options.label,
      () => (this.expanded = !this._expanded),
      { attrs: { 'aria-controls': this.contentNode.id } },
      'iog-SidebarSection-toggle'
    );
    this.errorNode.hidden = true;
    this.node.append(
      el('div', { className: 'iog-SidebarSection-header' }, [
        el('h2', { className: 'iog-SidebarSection-title' }, [this._toggle]),
        this.toolbarNode
      ]),
      this.errorNode,
      this.contentNode
    );
    this.expanded = options.expanded ?? true;
  }

  /** The section's key in the `defaultSections` setting. */
  readonly key: SidebarSection.Key;

  /** Where subclasses put their buttons, next to the heading. */
  protected readonly toolbarNode = el('div', {
    className: 'iog-SidebarSection-toolbar'
  });

  /** Where subclasses put their content; hidden while collapsed. */
  protected readonly contentNode = el('div', {
    className: 'iog-SidebarSection-body'
  });

  /** The line that says why the section's data could not be loaded. */
  protected readonly errorNode = el('div', {
    className: 'iog-SidebarSection-error'
  });

  /** Whether the body is shown. */
  get expanded(): boolean {
    return this._expanded;
  }
  set expanded(value: boolean) {
    this._expanded = value;
    this._toggle.setAttribute('aria-expanded', value ? 'true' : 'false');
    this.contentNode.hidden = !value;
    this.toolbarNode.hidden = !value;
    this.toggleClass('iog-mod-collapsed', !value);
  }

  /** Show the section's error line, or clear it with null. */
  protected setError(message: string | null): void {
    setText(this.errorNode, message ?? '');
    this.errorNode.hidden = !message;
  }

  private _toggle: HTMLButtonElement;
  private _expanded = true;
}

/** A namespace for `SidebarSection` statics. */
export namespace SidebarSection {
  /** Every section key, in display order. */
  export const KEYS = [
    'cluster',
    'jobs',
    'sessions',
    'actors',
    'usage'
  ] as const;

  /** A section's key, as the `defaultSections` setting names it. */
  export type Key = (typeof KEYS)[number];

  /** Options to create a section. */
  export interface IOptions {
    /** The section's key. */
    key: Key;
    /** The heading text and the section's accessible name. */
    label: string;
    /** The subclass's CSS block class (e.g. `iog-JobsSection`). */
    className: string;
    /** Whether the body starts shown (default true). */
    expanded?: boolean;
  }
}
