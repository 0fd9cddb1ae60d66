/**
 * Job-end notifications: a JupyterLab toast when a job the user submitted
 * from this Lab, owns, or chose to watch ends, with its status and run time,
 * and "Open log" / "Open notebook" actions. The `notifyOnJobEnd` setting
 * turns the toasts off.
 */

import {
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { Notification } from '@jupyterlab/apputils';
import { ISettingRegistry } from '@jupyterlab/settingregistry';
import type { CommandRegistry } from '@lumino/commands';
import { Token } from '@lumino/coreutils';

import { JobsService, StatusService } from './api/services';
import type { JobRecord } from './api/types';
import { formatDuration } from './format';
import { submissionIdArg, watchSettings } from './logs';
import type { JobsModel } from './models/JobsModel';
import { JobWatcher } from './models/JobWatcher';
import { CommandIDs } from './tokens';

/** The shared jobs model of the main plugin (the sidebar's and status bar's). */
export const IJobsModel = new Token<JobsModel>(
  'iog-jupyter:IJobsModel',
  'The jobs list the Ray sidebar and status bar show.'
);

/**
 * Follow a job just submitted (the submit commands call it with the id they
 * got): watch it until it ends, when the notifications plugin is active, and
 * open its log tab, when the logs plugin is.
 */
export async function followJob(
  commands: CommandRegistry,
  submissionId: string
): Promise<void> {
  if (commands.hasCommand(CommandIDs.watchJob)) {
    void commands.execute(CommandIDs.watchJob, { submissionId });
  }
  if (commands.hasCommand(CommandIDs.openJobLog)) {
    await commands.execute(CommandIDs.openJobLog, { submissionId });
  }
}

/**
 * What a job-end toast says: `Job "train" SUCCEEDED after 2m 5s`.
 *
 * @returns Plain text (the toast shows it as text, never as HTML).
 */
export function jobEndMessage(job: JobRecord): string {
  const name = job.name.length > 60 ? `${job.name.slice(0, 59)}…` : job.name;
  const { start_time_ms: start, end_time_ms: end } = job;
  const ran =
    typeof start === 'number' && typeof end === 'number'
      ? ` after ${formatDuration((end - start) / 1000)}`
      : '';
  const code = job.exit_code ? ` (exit code ${job.exit_code})` : '';
  return `Job "${name}" ${job.status}${ran}${code}`;
}

/**
 * Show a job-end toast: success, error (FAILED, kept until closed) or
 * warning (STOPPED), with "Open log" and, for a notebook job, "Open notebook".
 */
export function notifyJobEnd(
  job: JobRecord,
  commands: CommandRegistry
): string {
  const submissionId = job.submission_id;
  const actions: Notification.IAction[] = [
    {
      label: 'Open log',
      caption: `Open the log of ${job.name}`,
      callback: () =>
        void commands.execute(CommandIDs.openJobLog, { submissionId })
    }
  ];
  const path = job.notebook_output;
  if (path) {
    actions.push({
      label: 'Open notebook',
      caption: `Open ${path}`,
      callback: () => void commands.execute('docmanager:open', { path })
    });
  }
  const type =
    job.status === 'SUCCEEDED'
      ? 'success'
      : job.status === 'FAILED'
        ? 'error'
        : 'warning';
  const autoClose = type === 'error' ? false : 10_000;
  return Notification.emit(jobEndMessage(job), type, { autoClose, actions });
}

/**
 * Job-end notifications: needs the main plugin's jobs model; adds the
 * `iog:watch-job` command and honours the `notifyOnJobEnd` setting.
 */
export const notifyPlugin: JupyterFrontEndPlugin<void> = {
  id: 'iog-jupyter:notify',
  description: 'Tells when a Ray job you submitted, own or watch ends.',
  autoStart: true,
  requires: [IJobsModel],
  optional: [ISettingRegistry],
  activate: (
    app: JupyterFrontEnd,
    model: JobsModel,
    settingRegistry: ISettingRegistry | null
  ): void => {
    const serverSettings = app.serviceManager.serverSettings;
    // The server names a job's owner (its `status.user`); the Lab identity
    // stands in until the status answers.
    let owner: string | null = null;
    new StatusService({ serverSettings })
      .getStatus()
      .then(status => {
        owner = status.user ?? null;
      })
      .catch(() => undefined); // the Lab identity stays the guess
    const watcher = new JobWatcher({
      model,
      service: new JobsService({ serverSettings }),
      username: () =>
        owner ?? app.serviceManager.user.identity?.username ?? null,
      notify: job => void notifyJobEnd(job, app.commands),
      storage: Private.localStorage(),
      storageKey: `iog-jupyter:watched-jobs:${serverSettings.baseUrl}`
    });
    app.commands.addCommand(CommandIDs.watchJob, {
      label: 'Notify When Ray Job Ends',
      caption: 'Show a notification when this job ends',
      execute: args => {
        const id = submissionIdArg(args);
        if (id) {
          watcher.watch(id);
        }
      }
    });
    watchSettings(settingRegistry, settings => {
      watcher.enabled = settings.get('notifyOnJobEnd').composite !== false;
      const interval = settings.get('refreshIntervalMs').composite;
      if (typeof interval === 'number' && Number.isFinite(interval)) {
        watcher.refreshIntervalMs = interval;
      }
    });
  }
};

/** Module-private helpers. */
namespace Private {
  /** The page's local storage, or null where it is refused. */
  export function localStorage(): Storage | null {
    try {
      return window.localStorage;
    } catch {
      return null;
    }
  }
}
