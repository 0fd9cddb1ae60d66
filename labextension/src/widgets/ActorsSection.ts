import type { ActorRecord } from '../api/types';
import { formatDuration, formatTime } from '../format';
import type { ActorsModel } from '../models/ActorsModel';
import { confirmAction } from './actions';
import { button, el, setText } from './dom';
import { ListSection } from './ListSection';

/**
 * The actors section of the Ray sidebar: named detached actors with their
 * namespace, state, owner and expiry, and a kill button.
 */
export class ActorsSection extends ListSection<ActorRecord, ActorsModel> {
  constructor(options: ActorsSection.IOptions) {
    super({
      ...options,
      key: 'actors',
      label: 'Actors',
      className: 'iog-ActorsSection',
      noun: 'actors',
      items: model => model.actors,
      rowKey: ActorsSection.actorKey,
      keyAttr: 'data-actor',
      emptyText: ({ namespace }) =>
        namespace
          ? `No detached actors in ${namespace}.`
          : 'No detached actors.',
      columns: [
        ['Name', 'name'],
        ['Namespace', 'namespaceCell'],
        ['State', 'state'],
        ['Owner', 'owner', 'iog-mod-wide'],
        ['Expires', 'expires', 'iog-mod-wide'],
        ['Actions', 'actions', 'iog-Table-actions']
      ],
      pager: {
        newer: {
          text: '‹',
          className: 'previous',
          attrs: { 'aria-label': 'Previous page of actors' }
        },
        older: {
          text: '›',
          className: 'next',
          attrs: { 'aria-label': 'Next page of actors' }
        },
        hideSingle: true
      }
    });
    const namespace = el('input', {
      className: 'iog-ActorsSection-namespace jp-mod-styled',
      attrs: {
        type: 'search',
        'aria-label': 'Filter actors by namespace',
        placeholder: 'All namespaces',
        autocomplete: 'off'
      }
    });
    namespace.addEventListener(
      'change',
      () => void this.model.setNamespace(namespace.value)
    );
    this.contentNode.prepend(
      el('div', { className: 'iog-ActorsSection-controls' }, [namespace])
    );
    this.render();
  }

  protected createRow(actor: ActorRecord): HTMLTableRowElement {
    const row = super.createRow(actor);
    const key = ActorsSection.actorKey(actor);
    const { namespace, name } = actor;
    const kill = button(
      'Kill',
      () =>
        void confirmAction(
          {
            title: 'Kill actor',
            body:
              `Kill actor ${key}? Ray ends its process without restarting ` +
              'it, and its state is lost.',
            failure: 'Killing the actor failed'
          },
          () => this.model.kill(namespace, name)
        ),
      {
        className: 'iog-ActorsSection-kill',
        attrs: { 'aria-label': `Kill ${key}` }
      }
    );
    row.cells[5].append(kill);
    return row;
  }

  protected updateRow(row: HTMLTableRowElement, actor: ActorRecord): void {
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
    const kill = cells[5].firstChild as HTMLButtonElement;
    kill.disabled = !!actor.protected;
    kill.title = actor.protected
      ? 'iog does not kill this actor'
      : `Kill ${actor.namespace}/${actor.name}`;
    row.classList.toggle('iog-mod-protected', !!actor.protected);
  }
}

/** A namespace for `ActorsSection` statics. */
export namespace ActorsSection {
  /** Options to create an `ActorsSection`. */
  export type IOptions = ListSection.ISectionOptions<ActorsModel>;

  /** The key of an actor row: `<namespace>/<name>`. */
  export function actorKey(actor: ActorRecord): string {
    return `${actor.namespace}/${actor.name}`;
  }
}
