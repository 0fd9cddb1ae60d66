import { CommandRegistry } from '@lumino/commands';

import type { ClusterSnapshot, Pool, ResourceDemand } from '../api/types';
import {
  formatBundle,
  formatCount,
  isByteResource,
  formatTime,
  pluralize
} from '../format';
import type { ClusterModel } from '../models/ClusterModel';
import { CommandIDs } from '../tokens';
import { button, el, setText, syncRows, tableHead } from './dom';
import { SidebarSection } from './SidebarSection';

/**
 * The cluster section of the Ray sidebar: used, free and total resources,
 * live nodes, pools, and pending and infeasible demands.
 */
export class ClusterSection extends SidebarSection {
  /**
   * Create the section.
   *
   * @param options The section options.
   */
  constructor(options: ClusterSection.IOptions) {
    super({
      key: 'cluster',
      label: 'Cluster',
      className: 'iog-ClusterSection',
      expanded: options.expanded
    });
    this._model = options.model;
    this._commands = options.commands ?? null;

    this.toolbarNode.appendChild(
      button('Refresh', () => void this._model.refresh(), {
        className: 'iog-ClusterSection-refresh',
        attrs: { 'aria-label': 'Refresh cluster' },
        title: 'Ask the server for a fresh cluster snapshot'
      })
    );
    this._dashboardButton = button('Dashboard', this._openDashboard, {
      className: 'iog-ClusterSection-dashboard',
      attrs: { 'aria-label': 'Open Ray dashboard' },
      title: 'Open the read-only Ray dashboard in a tab'
    });
    this.toolbarNode.appendChild(this._dashboardButton);

    const summary = el('div', { className: 'iog-ClusterSection-summary' });
    this._nodes = el('span', { className: 'iog-ClusterSection-nodes' });
    this._nodesDetail = el('span', {
      className: 'iog-ClusterSection-nodesDetail'
    });
    this._updated = el('span', { className: 'iog-ClusterSection-updated' });
    summary.append(this._nodes, this._nodesDetail, this._updated);

    this._resources = el('tbody');
    const table = el('table', {
      className: 'iog-ClusterSection-resources iog-Table'
    });
    const head = tableHead(['Resource', 'Used', 'Free', 'Total']);
    table.append(head, this._resources);

    this._empty = el('div', {
      className: 'iog-SidebarSection-empty',
      text: 'Waiting for the first cluster snapshot…'
    });
    this.contentNode.append(
      this._empty,
      summary,
      table,
      ...this._groups.map(group => group.node)
    );

    // Widget.dispose() disconnects these (Signal.clearData).
    this._model.changed.connect(this.render, this);
    this._commands?.commandChanged.connect(this._renderDashboardButton, this);
    this.render();
  }

  /** Render the model's snapshot. */
  render(): void {
    this._renderDashboardButton();
    const snapshot = this._model.snapshot;
    this.setError(
      this._model.state === 'disconnected' && snapshot
        ? 'Showing the last snapshot received.'
        : null
    );
    this._empty.hidden = snapshot !== null;
    if (snapshot === null) {
      if (this._model.state === 'disconnected') {
        setText(this._empty, 'No cluster snapshot: Ray is not reachable.');
      }
      return;
    }
    this._renderSummary(snapshot);
    // The standard four resources, then custom ones by name.
    const standard = ClusterSection.STANDARD_RESOURCES;
    const custom = Object.keys(snapshot.totals ?? {})
      .filter(name => !standard.includes(name))
      .sort();
    syncRows(
      this._resources,
      [...standard, ...custom],
      name => name,
      Private.createResourceRow,
      (row, name) => Private.updateResourceRow(row, name, snapshot)
    );
    for (const group of this._groups) {
      const entries = group.entries(snapshot);
      Private.renderList(group.list, entries);
      group.node.hidden = !entries.length;
    }
  }

  private _renderSummary(snapshot: ClusterSnapshot): void {
    const nodes = snapshot.nodes ?? [];
    const count = (...states: string[]): number =>
      nodes.filter(node => states.includes(node.state)).length;
    // Alive: `ACTIVE` and `IDLE` (and Ray's `ALIVE`).
    const alive = count('ACTIVE', 'IDLE', 'ALIVE');
    const pending = count('PENDING');
    const dead = count('DEAD');
    setText(this._nodes, pluralize(alive, 'node'));
    const extra = [
      pending && `${pending} pending`,
      dead && `${dead} dead`
    ].filter(Boolean);
    setText(this._nodesDetail, extra.length ? ` (${extra.join(', ')})` : '');
    const when = formatTime(snapshot.timestamp_ms, String(snapshot.timestamp));
    setText(this._updated, when === '—' ? '' : ` · updated ${when}`);
  }

  private _renderDashboardButton(): void {
    this._dashboardButton.hidden = !this._commands?.hasCommand(
      CommandIDs.openDashboard
    );
  }

  private _openDashboard = (): void => {
    if (this._commands?.hasCommand(CommandIDs.openDashboard)) {
      void this._commands.execute(CommandIDs.openDashboard);
    }
  };

  private _model: ClusterModel;
  private _commands: CommandRegistry | null;
  private _dashboardButton: HTMLButtonElement;
  private _nodes: HTMLSpanElement;
  private _nodesDetail: HTMLSpanElement;
  private _updated: HTMLSpanElement;
  private _resources: HTMLTableSectionElement;
  private _groups = [
    Private.group('Pools', 'pools', snapshot =>
      (snapshot.pools ?? []).map(pool => ({
        text: Private.poolText(pool),
        pool: pool.name ?? ''
      }))
    ),
    Private.group('Pending demands', 'pending', snapshot =>
      (snapshot.pending_demands ?? []).map(Private.demandEntry)
    ),
    Private.group('Infeasible demands', 'infeasible', snapshot =>
      (snapshot.infeasible_demands ?? []).map(Private.demandEntry)
    )
  ];
  private _empty: HTMLDivElement;
}

/** A namespace for `ClusterSection` statics. */
export namespace ClusterSection {
  /** Options to create a `ClusterSection`. */
  export interface IOptions {
    /** The cluster model. */
    model: ClusterModel;
    /** The application's commands (to open the dashboard). */
    commands?: CommandRegistry;
    /** Whether the body starts shown (default true). */
    expanded?: boolean;
  }

  /**
   * Display names of the standard resources (rows keep Ray's name in
   * `data-resource`).
   */
  export const RESOURCE_LABELS: Readonly<Record<string, string>> = {
    memory: 'Memory (GiB)',
    object_store_memory: 'Object store (GiB)'
  };

  /** The resources always listed, in this order; custom ones follow. */
  export const STANDARD_RESOURCES: ReadonlyArray<string> = [
    'CPU',
    'GPU',
    'memory',
    'object_store_memory'
  ];
}

/** Module-private helpers. */
namespace Private {
  /**
   * Build the row of one resource.
   *
   * @param name The resource name.
   * @returns The row.
   */
  export function createResourceRow(name: string): HTMLTableRowElement {
    return el('tr', { attrs: { 'data-resource': name } }, [
      el('th', {
        className: 'iog-ClusterSection-name',
        text: ClusterSection.RESOURCE_LABELS[name] ?? name,
        title: name,
        attrs: { scope: 'row' }
      }),
      ...['used', 'free', 'total'].map(column =>
        el('td', { className: `iog-ClusterSection-${column}` })
      )
    ]);
  }

  /**
   * Refresh the cells of one resource row.
   *
   * @param row The row.
   * @param name The resource name.
   * @param snapshot The snapshot.
   */
  export function updateResourceRow(
    row: HTMLTableRowElement,
    name: string,
    snapshot: ClusterSnapshot
  ): void {
    const total = snapshot.totals?.[name] ?? 0;
    const free = snapshot.available?.[name] ?? 0;
    const used = Math.max(total - free, 0);
    const values = [used, free, total];
    row.querySelectorAll('td').forEach((cell, i) =>
      // Byte resources name their unit in the row label, so the three
      // columns fit the sidebar's default width.
      setText(
        cell,
        isByteResource(name)
          ? (values[i] / 1024 ** 3).toFixed(1)
          : formatCount(values[i])
      )
    );
  }

  /**
   * Text of one pool entry.
   *
   * @param pool The pool.
   * @returns For instance `train: 2 nodes · CPU 3/8 · GPU 1/2 free`.
   */
  export function poolText(pool: Pool): string {
    const part = (name: string): string =>
      `${name} ${formatCount(pool.available?.[name])}/` +
      `${formatCount(pool.totals?.[name])}`;
    return (
      `${pool.name}: ${pluralize(pool.num_nodes ?? 0, 'node')} · ` +
      `${part('CPU')} · ${part('GPU')} free`
    );
  }

  /**
   * One entry of a list group: its text, and for a pool its name (the
   * item's `data-pool`).
   */
  export interface IEntry {
    text: string;
    pool?: string;
  }

  /**
   * The entry of one demand: who waits (the server's words), for what,
   * where, and why.
   *
   * @param demand The demand.
   * @returns For instance `2 tasks, actors or job drivers waiting for 1 GPU
   *   each in pool train: <reason>`.
   */
  export function demandEntry(demand: ResourceDemand): IEntry {
    const { pool, reason, waiting } = demand;
    return {
      text:
        `${waiting} waiting for ${formatBundle(demand.bundle)}` +
        ((demand.count ?? 1) === 1 ? '' : ' each') +
        (pool ? ` in pool ${pool}` : '') +
        (reason ? `: ${reason}` : '')
    };
  }

  /**
   * Replace the items of a small list when they changed.
   *
   * @param list The `<ul>`.
   * @param entries The entries.
   */
  export function renderList(list: HTMLUListElement, entries: IEntry[]): void {
    const items = Array.from(list.children) as HTMLElement[];
    const same =
      items.length === entries.length &&
      entries.every(
        (entry, i) =>
          entry.text === items[i].textContent &&
          (entry.pool ?? '') === (items[i].dataset.pool ?? '')
      );
    if (!same) {
      list.replaceChildren(
        ...entries.map(({ text, pool }) =>
          el('li', {
            text,
            attrs: pool === undefined ? {} : { 'data-pool': pool }
          })
        )
      );
    }
  }

  /**
   * A labelled group around a list (`ul.iog-ClusterSection-<name>`).
   *
   * @param label The group's label.
   * @param name The list's name.
   * @param entries The list's entries in a snapshot.
   * @returns The group's node, list and entries.
   */
  export function group(
    label: string,
    name: string,
    entries: (snapshot: ClusterSnapshot) => IEntry[]
  ): { node: HTMLDivElement; list: HTMLUListElement; entries: typeof entries } {
    const list = el('ul', { className: `iog-ClusterSection-${name}` });
    const node = el('div', { className: 'iog-ClusterSection-group' }, [
      el('div', { className: 'iog-ClusterSection-groupLabel', text: label }),
      list
    ]);
    return { node, list, entries };
  }
}
