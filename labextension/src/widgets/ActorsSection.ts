import { Dialog, showDialog, showErrorMessage } from '@jupyterlab/apputils';

import type { ActorRecord } from '../api/types';
import { formatDuration, formatPageRange, formatTime } from '../format';
import type { ActorsModel } from '../models/ActorsModel';
import { describeError } from '../models/connection';
import { button, el, setText, syncRows, tableHead } from './dom';
import { SidebarSection } from './SidebarSection';

/**
 * The actors section of the Ray sidebar: named detached actors with their
 * namespace, state, owner and expiry, and a kill button.
 */
export class ActorsSection extends SidebarSection {
  /**
   * Create the section.
   *
   * @param options The section options.
   */
  constructor(options: ActorsSection.IOptions) {
    super({
      key: 'actors',
      label: 'Actors',
      className: 'iog-ActorsSection',
      expanded: options.expanded
    });
    this._model = options.model;
    this.toolbarNode.appendChild(
      button('Refresh', () => void this._model.refresh(), {
        className: 'iog-ActorsSection-refresh',
        attrs: { 'aria-label': 'Refresh actors' },
        title: 'Fetch the actors again'
      })
    );

    this._namespace = el('input', {
      className: 'iog-ActorsSection-namespace jp-mod-styled',
      attrs: {
        type: 'search',
        'aria-label': 'Filter actors by namespace',
        placeholder: 'All namespaces',
        autocomplete: 'off'
      }
    });
    this._namespace.addEventListener('change', this._onNamespace);

    this._rows = el('tbody');
    const table = el(
      'table',
      { className: 'iog-ActorsSection-table iog-Table' },
      [
        tableHead([
          'Name',
          'Namespace',
          'State',
          { text: 'Owner', className: 'iog-mod-wide' },
          { text: 'Expires', className: 'iog-mod-wide' },
          { text: 'Actions', className: 'iog-Table-actions' }
        ]),
        this._rows
      ]
    );
    this._empty = el('div', { className: 'iog-SidebarSection-empty' });

    this._previous = button('‹', () => void this._model.newer(), {
      className: 'iog-ActorsSection-previous',
      attrs: { 'aria-label': 'Previous page of actors' }
    });
    this._next = button('›', () => void this._model.older(), {
      className: 'iog-ActorsSection-next',
      attrs: { 'aria-label': 'Next page of actors' }
    });
    this._pageLabel = el('span', { className: 'iog-ActorsSection-pageLabel' });
    this._pager = el(
      'div',
      { className: 'iog-ActorsSection-pager iog-Pager' },
      [this._previous, this._pageLabel, this._next]
    );

    this.contentNode.append(
      el('div', { className: 'iog-ActorsSection-controls' }, [this._namespace]),
      table,
      this._empty,
      this._pager
    );
    this._model.changed.connect(this.render, this);
    this.render();
  }

  /**
   * Render the model's current page.
   */
  render(): void {
    const model = this._model;
    this.setError(
      model.state === 'disconnected'
        ? `Could not load the actors: ${model.message ?? 'unknown error'}`
        : null
    );
    syncRows(
      this._rows,
      model.actors,
      ActorsSection.actorKey,
      actor => this._createRow(actor),
      (row, actor) => Private.updateRow(row, actor)
    );
    this._empty.hidden = model.actors.length > 0;
    setText(
      this._empty,
      model.page
        ? model.namespace
          ? `No detached actors in ${model.namespace}.`
          : 'No detached actors.'
        : model.state === 'disconnected'
          ? 'No actors to show.'
          : 'Loading actors…'
    );
    this._previous.disabled = !model.hasNewer;
    this._next.disabled = !model.hasOlder;
    this._pager.hidden = !model.hasNewer && !model.hasOlder;
    setText(
      this._pageLabel,
      formatPageRange(
        model.pageIndex,
        model.pageSize,
        model.actors.length,
        model.page?.total
      )
    );
  }

  /**
   * Dispose of the section and leave the model.
   */
  dispose(): void {
    if (this.isDisposed) {
      return;
    }
    this._model.changed.disconnect(this.render, this);
    this._namespace.removeEventListener('change', this._onNamespace);
    super.dispose();
  }

  private _createRow(actor: ActorRecord): HTMLTableRowElement {
    const key = ActorsSection.actorKey(actor);
    const { namespace, name } = actor;
    return el(
      'tr',
      { className: 'iog-ActorsSection-row', attrs: { 'data-actor': key } },
      [
        el('td', { className: 'iog-ActorsSection-name' }),
        el('td', { className: 'iog-ActorsSection-namespaceCell' }),
        el('td', { className: 'iog-ActorsSection-state' }),
        el('td', { className: 'iog-ActorsSection-owner iog-mod-wide' }),
        el('td', { className: 'iog-ActorsSection-expires iog-mod-wide' }),
        el('td', { className: 'iog-ActorsSection-actions iog-Table-actions' }, [
          button('Kill', () => void this._kill(namespace, name), {
            className: 'iog-ActorsSection-kill',
            attrs: { 'aria-label': `Kill ${key}` }
          })
        ])
      ]
    );
  }

  private async _kill(namespace: string, name: string): Promise<void> {
    const key = `${namespace}/${name}`;
    const result = await showDialog({
      title: 'Kill actor',
      body:
        `Kill actor ${key}? Ray ends its process without restarting it, and ` +
        'its state is lost.',
      buttons: [
        Dialog.cancelButton(),
        Dialog.warnButton({ label: 'Kill actor', ariaLabel: 'Kill actor' })
      ]
    });
    if (!result.button.accept) {
      return;
    }
    try {
      await this._model.kill(namespace, name);
    } catch (reason) {
      await showErrorMessage('Killing the actor failed', describeError(reason));
    }
  }

  private _onNamespace = (): void => {
    void this._model.setNamespace(this._namespace.value);
  };

  private _model: ActorsModel;
  private _namespace: HTMLInputElement;
  private _rows: HTMLTableSectionElement;
  private _empty: HTMLDivElement;
  private _previous: HTMLButtonElement;
  private _next: HTMLButtonElement;
  private _pageLabel: HTMLSpanElement;
  private _pager: HTMLDivElement;
}

/**
 * A namespace for `ActorsSection` statics.
 */
export namespace ActorsSection {
  /**
   * Options to create an `ActorsSection`.
   */
  export interface IOptions {
    /**
     * The actors model.
     */
    model: ActorsModel;
    /**
     * Whether the body starts shown (default true).
     */
    expanded?: boolean;
  }

  /**
   * The key of an actor row: `<namespace>/<name>`.
   *
   * @param actor The actor.
   * @returns The key.
   */
  export function actorKey(actor: ActorRecord): string {
    return `${actor.namespace}/${actor.name}`;
  }
}

/**
 * Module-private helpers.
 */
namespace Private {
  /**
   * Refresh the cells of an actor row.
   *
   * @param row The row.
   * @param actor The actor.
   */
  export function updateRow(
    row: HTMLTableRowElement,
    actor: ActorRecord
  ): void {
    const cells = row.cells;
    setText(cells[0], actor.name);
    cells[0].title = actor.class_name
      ? `${actor.class_name} (${actor.actor_id})`
      : actor.actor_id;
    setText(cells[1], actor.namespace);
    setText(cells[2], actor.state);
    cells[2].className = `iog-ActorsSection-state iog-mod-${String(actor.state).toLowerCase()}`;
    setText(cells[3], actor.owner ?? '—');
    if (actor.ttl_s === null || actor.ttl_s === undefined) {
      setText(cells[4], 'never');
      cells[4].title = 'No TTL';
    } else {
      setText(cells[4], formatTime(actor.expires_ms, actor.expires));
      cells[4].title = `TTL ${formatDuration(actor.ttl_s)}`;
    }
    const kill = cells[5].querySelector('button');
    if (kill) {
      kill.disabled = !!actor.protected;
      kill.title = actor.protected
        ? 'iog does not kill this actor'
        : `Kill ${actor.namespace}/${actor.name}`;
    }
    row.classList.toggle('iog-mod-protected', !!actor.protected);
  }
}
