import {
  ILayoutRestorer,
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import {
  Dialog,
  ICommandPalette,
  showDialog,
  showErrorMessage
} from '@jupyterlab/apputils';
import { ISettingRegistry } from '@jupyterlab/settingregistry';
import { IStatusBar } from '@jupyterlab/statusbar';
import { Widget } from '@lumino/widgets';

import {
  ActorsService,
  JobsService,
  SessionsService,
  StatusService,
  UsageService
} from './api/services';
import type { Status } from './api/types';
import { poolNames, statusRows } from './format';
import logsPlugin, {
  askSubmissionId,
  submissionIdArg,
  watchSettings
} from './logs';
import { rayIcon } from './icons';
import { ActorsModel } from './models/ActorsModel';
import { ChangeFeed } from './models/ChangeFeed';
import { ClusterModel } from './models/ClusterModel';
import { JobsModel } from './models/JobsModel';
import { SessionsModel } from './models/SessionsModel';
import { UsageModel } from './models/UsageModel';
import notebooksPlugin from './notebooks';
import { followJob, IJobsModel, notifyPlugin } from './notify';
import { RayStatusItem } from './statusbar';
import {
  COMMAND_CATEGORY,
  CommandIDs,
  DEFAULT_REFRESH_INTERVAL_MS,
  PLUGIN_ID,
  SIDEBAR_ID
} from './tokens';
import { confirmJobAction, submitJobWithDialog } from './widgets/actions';
import { el } from './widgets/dom';
import { RaySidebar } from './widgets/RaySidebar';
import { SidebarSection } from './widgets/SidebarSection';

/**
 * Build the dialog body describing the server status.
 *
 * Server-provided text is only ever assigned through `textContent`.
 */
export function createStatusBody(status: Status): Widget {
  const list = el('dl', { className: 'iog-StatusDialog-list' });
  for (const [label, value] of statusRows(status)) {
    list.append(el('dt', { text: label }), el('dd', { text: value }));
  }
  return new Widget({
    node: el('div', { className: 'iog-StatusDialog' }, [list])
  });
}

/**
 * The iog-jupyter frontend plugin: the Ray sidebar (cluster, jobs,
 * sessions, actors), the status bar item, and the `Ray` palette commands.
 */
const plugin: JupyterFrontEndPlugin<JobsModel> = {
  id: PLUGIN_ID,
  description:
    'Shows the Ray cluster served by iog-jupyter: sidebar, status bar and commands.',
  autoStart: true,
  provides: IJobsModel,
  optional: [ICommandPalette, IStatusBar, ISettingRegistry, ILayoutRestorer],
  activate: (
    app: JupyterFrontEnd,
    palette: ICommandPalette | null,
    statusBar: IStatusBar | null,
    settingRegistry: ISettingRegistry | null,
    restorer: ILayoutRestorer | null
  ): JobsModel => {
    const serverSettings = app.serviceManager.serverSettings;
    const statusService = new StatusService({ serverSettings });
    const feed = new ChangeFeed({ serverSettings });
    const cluster = new ClusterModel({ service: statusService });
    const jobs = new JobsModel({
      service: new JobsService({ serverSettings }),
      feed
    });
    const sessions = new SessionsModel({
      service: new SessionsService({ serverSettings }),
      feed
    });
    const actors = new ActorsModel({
      service: new ActorsService({ serverSettings }),
      feed
    });
    const models = [cluster, jobs, sessions, actors];
    // Polls every 30 s while its section is expanded (not at refreshIntervalMs).
    const usage = new UsageModel({
      service: new UsageService({ serverSettings })
    });

    const sidebar = new RaySidebar({
      cluster,
      jobs,
      sessions,
      actors,
      usage,
      commands: app.commands,
      icon: rayIcon,
      // Closing the sidebar closes both sockets and stops every poll.
      disposeWithSidebar: [...models, usage, feed]
    });
    app.shell.add(sidebar, 'left', { rank: 200 });
    restorer?.add(sidebar, SIDEBAR_ID);

    app.commands.addCommand(CommandIDs.showStatus, {
      label: 'Show Ray Status',
      caption: 'Show the Ray connection status of the iog server extension',
      execute: async () => {
        try {
          const status = await statusService.getStatus();
          await showDialog({
            title: 'Ray Status',
            body: createStatusBody(status),
            buttons: [Dialog.okButton()]
          });
        } catch (error) {
          await showErrorMessage('Ray Status', error as Error);
        }
      }
    });

    app.commands.addCommand(CommandIDs.openSidebar, {
      label: 'Open Ray Sidebar',
      caption: 'Show the Ray sidebar: cluster, jobs, sessions and actors',
      icon: rayIcon,
      execute: () => app.shell.activateById(sidebar.id)
    });

    app.commands.addCommand(CommandIDs.submitJob, {
      label: 'Submit Ray Job…',
      caption: 'Submit a job to the Ray cluster and follow its log',
      execute: async () => {
        const pools = poolNames(cluster.snapshot);
        const submissionId = await submitJobWithDialog(jobs, { pools });
        if (submissionId) {
          await followJob(app.commands, submissionId);
        }
        return submissionId;
      }
    });

    app.commands.addCommand(CommandIDs.stopJob, {
      label: args =>
        submissionIdArg(args)
          ? `Stop Ray Job ${args.submissionId}`
          : 'Stop Ray Job…',
      caption: 'Stop a Ray job after confirmation',
      execute: async args => {
        const submissionId = await askSubmissionId(
          args,
          'Stop a Ray job',
          'Next'
        );
        return submissionId
          ? confirmJobAction(jobs, 'stop', submissionId)
          : false;
      }
    });

    app.commands.addCommand(CommandIDs.refreshCluster, {
      label: 'Refresh Ray Cluster',
      caption: 'Ask the server for a fresh cluster snapshot now',
      execute: () => cluster.refresh()
    });

    for (const command of [
      CommandIDs.openSidebar,
      CommandIDs.submitJob,
      CommandIDs.stopJob,
      CommandIDs.refreshCluster,
      CommandIDs.showStatus
    ]) {
      palette?.addItem({ command, category: COMMAND_CATEGORY });
    }

    statusBar?.registerStatusItem(PLUGIN_ID, {
      item: new RayStatusItem({
        cluster,
        jobs,
        onClick: () => void app.commands.execute(CommandIDs.openSidebar)
      }),
      align: 'left',
      rank: 100
    });

    let sections = '';
    watchSettings(settingRegistry, settings => {
      // The models clamp the interval to the accepted range.
      const interval = settings.get('refreshIntervalMs').composite;
      for (const model of models) {
        model.refreshIntervalMs =
          typeof interval === 'number' && Number.isFinite(interval)
            ? interval
            : DEFAULT_REFRESH_INTERVAL_MS;
      }
      // The sections to show expanded; all of them when unusable.
      const value = settings.get('defaultSections').composite;
      const expanded = Array.isArray(value)
        ? value.filter((item): item is string => typeof item === 'string')
        : [...SidebarSection.KEYS];
      const key = JSON.stringify(expanded);
      if (key !== sections) {
        sections = key;
        sidebar.setExpandedSections(expanded);
      }
    });
    return jobs;
  }
};

/**
 * The plugins of this package: the sidebar, status bar and commands, the
 * job log panels with the dashboard tab (`./logs`), the job-end
 * notifications (`./notify`) and running notebooks as jobs (`./notebooks`).
 */
const plugins: JupyterFrontEndPlugin<unknown>[] = [
  plugin,
  logsPlugin,
  notifyPlugin,
  notebooksPlugin
];

export default plugins;
