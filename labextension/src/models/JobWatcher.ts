import type { IDisposable } from '@lumino/disposable';
import { Poll } from '@lumino/polling';

import { IogResponseError } from '../api/request';
import { JobsService } from '../api/services';
import type { JobRecord, JobStatus } from '../api/types';
import { pollFrequency } from './connection';
import type { JobsModel } from './JobsModel';

/**
 * Most watched jobs kept (in `storage` too): past it, ended ones go first,
 * then the longest watched.
 */
export const MAX_WATCHED = 200;

/**
 * Watches jobs and tells when they end. `watch(id)` adds a job (the
 * `iog:watch-job` command calls it, with `{ submissionId }`).
 *
 * Endings are seen in the shared `JobsModel`'s page each time it changes;
 * jobs of interest that are not on that page (an older page, another status
 * filter, or the sidebar closed) are fetched one by one every refresh.
 * Each ending is told once. A job that had already ended when first seen is
 * not told, unless it is watched: those are kept (with their last status)
 * in `storage`, so a job that ended while the Lab was closed is told when it
 * opens again.
 */
export class JobWatcher implements IDisposable {
  /** Create the watcher and start following the model. */
  constructor(options: JobWatcher.IOptions) {
    this._options = options;
    this._watched = Private.load(options.storage, options.storageKey);
    options.model.changed.connect(this._onModelChanged, this);
    this._poll = new Poll({
      auto: options.autoStart ?? true,
      factory: () => this.check(),
      frequency: pollFrequency(options.refreshIntervalMs),
      name: 'iog-jupyter:job-watcher',
      standby: 'when-hidden'
    });
  }

  /** Whether endings are told (the `notifyOnJobEnd` setting). */
  enabled = true;

  /**
   * How often the jobs off the model's page are fetched, in milliseconds
   * (the `refreshIntervalMs` setting; at least `MIN_REFRESH_INTERVAL_MS`).
   */
  set refreshIntervalMs(value: number) {
    this._poll.frequency = pollFrequency(value);
  }

  /** Whether the watcher is disposed. */
  get isDisposed(): boolean {
    return this._poll.isDisposed;
  }

  /** Watch a job until it ends (kept across reloads). */
  watch(submissionId: string): void {
    const status = this._seen.get(submissionId)?.status;
    if (status && JobsService.isTerminal(status)) {
      return; // it has ended: nothing more to tell
    }
    delete this._watched[submissionId]; // watched again: now the newest
    this._watched[submissionId] = status ?? null;
    this._save();
    void this._poll.refresh();
  }

  /** Look at the model's page and fetch the jobs of interest not on it. */
  async check(): Promise<void> {
    const { model, service } = this._options;
    const page = model.isDisposed ? [] : model.jobs;
    this._look(page);
    const onPage = new Set(page.map(job => job.submission_id));
    const missing = [...this._followed()].filter(id => !onPage.has(id));
    const fetched = await Promise.all(
      missing.map(id =>
        service.getJob(id).catch((reason: unknown) => {
          if (reason instanceof IogResponseError && reason.status === 404) {
            this._forget(id); // deleted: nothing will end
          }
          return null;
        })
      )
    );
    this._look(fetched.filter((job): job is JobRecord => job !== null));
  }

  /** Stop following the model and fetching. */
  dispose(): void {
    this._poll.dispose();
    this._options.model.changed.disconnect(this._onModelChanged, this);
  }

  private _onModelChanged(model: JobsModel): void {
    this._look(model.jobs);
  }

  /** Jobs of interest last seen not ended. */
  private _followed(): Set<string> {
    const ids = new Set<string>();
    for (const [id, status] of Object.entries(this._watched)) {
      if (!status || !JobsService.isTerminal(status)) {
        ids.add(id);
      }
    }
    const user = this._options.username();
    for (const [id, { status, owner }] of this._seen) {
      if (owner && owner === user && !JobsService.isTerminal(status)) {
        ids.add(id);
      }
    }
    return ids;
  }

  private _look(jobs: ReadonlyArray<JobRecord>): void {
    const user = this._options.username();
    let changed = false;
    for (const job of jobs) {
      const id = job.submission_id;
      const before = this._seen.get(id)?.status;
      if (before && JobsService.isTerminal(before)) {
        continue; // told (or not news) already; an older page cannot undo an end
      }
      const watched = id in this._watched;
      this._seen.set(id, job);
      if (!JobsService.isTerminal(job.status)) {
        if (watched && this._watched[id] !== job.status) {
          this._watched[id] = job.status;
          changed = true;
        }
        continue;
      }
      const ended =
        before === undefined
          ? watched // first sight: only a watched job's ending is news
          : watched || (user !== null && job.owner === user);
      if (watched) {
        delete this._watched[id];
        changed = true;
      }
      if (ended && this.enabled) {
        this._options.notify(job);
      }
    }
    if (changed) {
      this._save();
    }
  }

  private _forget(id: string): void {
    this._seen.delete(id);
    if (id in this._watched) {
      delete this._watched[id];
      this._save();
    }
  }

  private _save(): void {
    Private.cap(this._watched);
    try {
      const { storage, storageKey } = this._options;
      storage?.setItem(storageKey, JSON.stringify(this._watched));
    } catch {
      // Storage full or refused: the watch holds for this page's life only.
    }
  }

  private _options: JobWatcher.IOptions;
  private _watched: Record<string, JobStatus | null>;
  /** The last record seen of each job. */
  private _seen = new Map<string, JobRecord>();
  private _poll: Poll;
}

/** A namespace for `JobWatcher` statics. */
export namespace JobWatcher {
  /** Options to create a `JobWatcher`. */
  export interface IOptions {
    /** The shared jobs model whose page is looked at on each change. */
    model: JobsModel;
    /** Fetches the jobs of interest that are not on the model's page. */
    service: Pick<JobsService, 'getJob'>;
    /** The name the server records as the owner of this user's jobs. */
    username: () => string | null;
    /** Tells one ending (`notifyJobEnd` in the plugin). */
    notify: (job: JobRecord) => void;
    /** Where the watched jobs are kept across reloads; none: not kept. */
    storage?: Storage | null;
    /** The key in `storage`. */
    storageKey: string;
    /** How often the jobs off the model's page are fetched. */
    refreshIntervalMs?: number;
    /** Whether to start fetching at once (default true). */
    autoStart?: boolean;
  }
}

/** Module-private helpers. */
namespace Private {
  /**
   * Drop watched jobs past `MAX_WATCHED`: ended ones first, then the oldest
   * (ids in the order they were watched).
   */
  export function cap(
    watched: Record<string, JobStatus | null>
  ): Record<string, JobStatus | null> {
    const ids = Object.keys(watched);
    const ended = ids.filter(id => JobsService.isTerminal(watched[id] ?? ''));
    const drop = [...new Set([...ended, ...ids])];
    for (const id of drop.slice(0, ids.length - MAX_WATCHED)) {
      delete watched[id];
    }
    return watched;
  }

  /**
   * The watched jobs kept in `storage`.
   *
   * @returns Job id → last status seen (null: not seen yet).
   */
  export function load(
    storage: Storage | null | undefined,
    key: string
  ): Record<string, JobStatus | null> {
    try {
      const value: unknown = JSON.parse(storage?.getItem(key) ?? '{}');
      const kept: Record<string, JobStatus | null> = {};
      if (value && typeof value === 'object' && !Array.isArray(value)) {
        for (const [id, status] of Object.entries(value)) {
          kept[id] = JobsService.STATUSES.find(s => s === status) ?? null;
        }
      }
      return cap(kept);
    } catch {
      return {};
    }
  }
}
