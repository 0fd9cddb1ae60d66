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
  constructor(options: ClusterSection.IOptions) {
    super({
      key: 'cluster',
      label: 'Cluster',
      className: 'iog-ClusterSection',
      expanded: options.expanded
    });
    this._model = options.model;
    this._commands = options.commands ?? null;
    this._dashboardButton = button(
      'Dashboard',
      () => void this._commands?.execute(CommandIDs.openDashboard),
      {
        className: 'iog-ClusterSection-dashboard',
        attrs: { 'aria-label': 'Open Ray dashboard' },
        title: 'Open the read-only Ray dashboard in a tab'
      }
    );
    this.toolbarNode.append(
      button('Refresh', () => void this._model.refresh(), {
        className: 'iog-ClusterSection-refresh',
        attrs: { 'aria-label': 'Refresh cluster' },
        title: 'Ask the server for a fresh cluster snapshot'
      }),
      this._dashboardButton
    );
    this.contentNode.append(
      this._empty,
      el('div', { className: 'iog-ClusterSection-summary' }, [
        this._nodes,
        this._nodesDetail
      ]),
      el('table', { className: 'iog-ClusterSection-resources iog-Table' }, [
        tableHead(
          ['Resource', 'Used', 'Free', 'Total'].map(text => ({ text }))
        ),
        this._resources
      ]),
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
    const { snapshot, state } = this._model;
    this.setError(
      state === 'disconnected' && snapshot
        ? 'Showing the last snapshot received.'
        : null
    );
    this._empty.hidden = snapshot !== null;
    if (snapshot === null) {
      if (state === 'disconnected') {
        setText(this._empty, 'No cluster snapshot: Ray is not reachable.');
      }
      return;
    }
    const nodes = snapshot.nodes ?? [];
    const count = (...states: string[]): number =>
      nodes.filter(node => states.includes(node.state)).length;
    // Alive: `ACTIVE` and `IDLE` (and Ray's `ALIVE`).
    setText(this._nodes, pluralize(count('ACTIVE', 'IDLE', 'ALIVE'), 'node'));
    const pending = count('PENDING');
    const dead = count('DEAD');
    const extra = [pending && `${pending} pending`, dead && `${dead} dead`];
    const when = formatTime(snapshot.timestamp_ms, String(snapshot.timestamp));
    setText(
      this._nodesDetail,
      (extra.some(Boolean) ? ` (${extra.filter(Boolean).join(', ')})` : '') +
        (when === '—' ? '' : ` · updated ${when}`)
    );
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
      // Replace the items only when they changed.
      const shown = JSON.stringify(entries);
      if (group.shown !== shown) {
        group.shown = shown;
        group.list.replaceChildren(
          ...entries.map(({ text, pool }) =>
            el('li', {
              text,
              attrs: pool === undefined ? {} : { 'data-pool': pool }
            })
          )
        );
      }
      group.node.hidden = !entries.length;
    }
  }

  private _renderDashboardButton(): void {
    const command = CommandIDs.openDashboard;
    this._dashboardButton.hidden = !this._commands?.hasCommand(command);
  }

  private _model: ClusterModel;
  private _commands: CommandRegistry | null;
  private _dashboardButton: HTMLButtonElement;
  private _nodes = el('span', { className: 'iog-ClusterSection-nodes' });
  private _nodesDetail = el('span', {
    className: 'iog-ClusterSection-nodesDetail'
  });
  private _resources = el('tbody');
  private _empty = el('div', {
    className: 'iog-SidebarSection-empty',
    text: 'Waiting for the first cluster snapshot…'
  });
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
  /** Build the row of one resource (`tr[data-resource]`). */
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

  /** Refresh the used, free and total cells of one resource's row. */
  export function updateResourceRow(
    row: HTMLTableRowElement,
    name: string,
    snapshot: ClusterSnapshot
  ): void {
    const total = snapshot.totals?.[name] ?? 0;
    const free = snapshot.available?.[name] ?? 0;
    const values = [Math.max(total - free, 0), free, total];
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

  /** A pool in words: `train: 2 nodes · CPU 3/8 · GPU 1/2 free`. */
  export function poolText(pool: Pool): string {
    const part = (name: string): string =>
      `${name} ${formatCount(pool.available?.[name])}/` +
      `${formatCount(pool.totals?.[name])}`;
    return (
      `${pool.name}: ${pluralize(pool.num_nodes ?? 0, 'node')} · ` +
      `${part('CPU')} · ${part('GPU')} free`
    );
  }

  /** One entry of a list group: its text and, for a pool, its `data-pool`. */
  export interface IEntry {
    text: string;
    pool?: string;
  }

  /**
   * A demand in words: who waits (the server's words), for what, where, and
   * why, e.g. `2 tasks, actors or job drivers waiting for 1 GPU each in pool
   * train: <reason>`.
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
   * A labelled group around a list (`ul.iog-ClusterSection-<name>`) and how
   * to get its entries from a snapshot.
   */
  export function group(
    label: string,
    name: string,
    entries: (snapshot: ClusterSnapshot) => IEntry[]
  ) {
    const list = el('ul', { className: `iog-ClusterSection-${name}` });
    const node = el('div', { className: 'iog-ClusterSection-group' }, [
      el('div', { className: 'iog-ClusterSection-groupLabel', text: label }),
      list
    ]);
    return { node, list, entries, shown: '' };
  }
}
