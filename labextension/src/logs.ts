import {
  ILayoutRestorer,
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import {
  ICommandPalette,
  InputDialog,
  MainAreaWidget,
  WidgetTracker
} from '@jupyterlab/apputils';
import { ISettingRegistry } from '@jupyterlab/settingregistry';
import {
  refreshIcon,
  stopIcon,
  ToolbarButton
} from '@jupyterlab/ui-components';

import { JobsService, LogsService } from './api/services';
import { rayIcon } from './icons';
import { JobLogModel } from './models/JobLogModel';
import {
  COMMAND_CATEGORY,
  CommandIDs,
  DASHBOARD_ID,
  DEFAULT_LOG_MAX_LINES,
  PLUGIN_ID
} from './tokens';
import { DashboardPanel } from './widgets/DashboardPanel';
import { JobLogPanel } from './widgets/JobLogPanel';

/** Id of the job log and dashboard plugin. */
export const LOGS_PLUGIN_ID = 'iog-jupyter:logs';

/**
 * The job log panels and the dashboard tab: commands `iog:open-job-log`
 * (args `{submissionId}`) and `iog:open-dashboard`, in the palette under
 * "Ray". Log panels are tracked, so the same job's panel is reused and open
 * panels come back after a reload.
 */
const logsPlugin: JupyterFrontEndPlugin<void> = {
  id: LOGS_PLUGIN_ID,
  description: 'Live Ray job logs and the read-only Ray dashboard in tabs.',
  autoStart: true,
  optional: [ICommandPalette, ILayoutRestorer, ISettingRegistry],
  activate: (
    app: JupyterFrontEnd,
    palette: ICommandPalette | null,
    restorer: ILayoutRestorer | null,
    settingRegistry: ISettingRegistry | null
  ): void => {
    const serverSettings = app.serviceManager.serverSettings;
    const service = new LogsService({ serverSettings });
    const jobs = new JobsService({ serverSettings });
    const tracker = new WidgetTracker<MainAreaWidget<JobLogPanel>>({
      namespace: 'iog-job-log'
    });
    let maxLines = DEFAULT_LOG_MAX_LINES;
    watchSettings(settingRegistry, settings => {
      const value = settings.get('logMaxLines').composite;
      if (typeof value === 'number' && Number.isFinite(value)) {
        maxLines = Math.max(100, Math.floor(value));
      }
    });

    const buildJobLog = (submissionId: string): MainAreaWidget<JobLogPanel> => {
      const model = new JobLogModel({
        submissionId,
        service,
        jobs,
        maxLines
      });
      const content = new JobLogPanel({ model });
      const widget = new MainAreaWidget({ content });
      // Named by the job's name once known (the id until then).
      const name = (text: string): void => {
        widget.title.label = `Log: ${text}`;
        widget.title.caption = `Live log of Ray job ${text} (${submissionId})`;
      };
      name(submissionId);
      jobs
        .getJob(submissionId)
        .then(job => !widget.isDisposed && name(job.name))
        .catch(() => undefined); // The panel says what is wrong with the job.
      const stop = new ToolbarButton({
        icon: stopIcon,
        label: 'Stop job',
        tooltip: `Stop job ${submissionId}`,
        onClick: () =>
          void app.commands.execute(CommandIDs.stopJob, { submissionId })
      });
      widget.toolbar.addItem('stop', stop);
      // Shown while the job runs: until the tail brings its final status.
      const update = (): void =>
        stop.setHidden(['ended', 'error'].includes(model.phase));
      model.changed.connect(update);
      update();
      return widget;
    };

    app.commands.addCommand(CommandIDs.openJobLog, {
      label: args =>
        submissionIdArg(args)
          ? `Log: ${args.submissionId}`
          : 'Open Ray Job Log…',
      caption: "Follow a Ray job's log live",
      icon: args => (args.isPalette ? undefined : rayIcon),
      execute: async args => {
        const submissionId = await askSubmissionId(
          args,
          'Open a Ray job log',
          'Open'
        );
        if (!submissionId) {
          return null;
        }
        // Ids are `[A-Za-z0-9_.-]`; anything else becomes `_` in the DOM id.
        const id = `iog-job-log-${submissionId.replace(/[^A-Za-z0-9_.-]/g, '_')}`;
        return Private.openTab(app, tracker, id, () =>
          buildJobLog(submissionId)
        );
      }
    });

    const dashboards = new WidgetTracker<MainAreaWidget<DashboardPanel>>({
      namespace: 'iog-dashboard'
    });
    app.commands.addCommand(CommandIDs.openDashboard, {
      label: 'Open Ray Dashboard',
      caption: "Ray's dashboard, read-only, through the Jupyter server",
      execute: () =>
        Private.openTab(app, dashboards, DASHBOARD_ID, () => {
          const content = new DashboardPanel({
            baseUrl: serverSettings.baseUrl
          });
          const widget = new MainAreaWidget({ content });
          widget.title.label = 'Ray Dashboard';
          widget.toolbar.addItem(
            'reload',
            new ToolbarButton({
              icon: refreshIcon,
              tooltip: 'Reload the dashboard',
              onClick: () => content.reload()
            })
          );
          return widget;
        })
    });

    for (const command of [CommandIDs.openJobLog, CommandIDs.openDashboard]) {
      palette?.addItem({ command, category: COMMAND_CATEGORY });
    }
    void restorer?.restore(tracker, {
      command: CommandIDs.openJobLog,
      args: widget => ({ submissionId: widget.content.model.submissionId }),
      name: widget => widget.content.model.submissionId
    });
    void restorer?.restore(dashboards, {
      command: CommandIDs.openDashboard,
      name: () => 'dashboard'
    });
  }
};

export default logsPlugin;

/**
 * A command's `submissionId` argument, or null when missing or not a string.
 */
export function submissionIdArg(args: Record<string, unknown>): string | null {
  const value = args.submissionId;
  return typeof value === 'string' && value ? value : null;
}

/**
 * A command's `submissionId` argument, or else the one the user enters in a
 * dialog titled `title` (null when cancelled or left empty).
 */
export async function askSubmissionId(
  args: Record<string, unknown>,
  title: string,
  okLabel: string
): Promise<string | null> {
  const answer =
    submissionIdArg(args) ??
    (await InputDialog.getText({ title, label: 'Submission ID', okLabel }));
  return typeof answer === 'string'
    ? answer
    : (answer.button.accept && answer.value?.trim()) || null;
}

/**
 * Load the plugin settings, if there is a registry, and `apply` them now and
 * on every change.
 */
export function watchSettings(
  registry: ISettingRegistry | null,
  apply: (settings: ISettingRegistry.ISettings) => void
): void {
  registry
    ?.load(PLUGIN_ID)
    .then(settings => {
      apply(settings);
      settings.changed.connect(() => apply(settings));
    })
    // Keep the defaults; the setting registry reports the failure itself.
    .catch(() => undefined);
}

/** Module-private helpers. */
namespace Private {
  /**
   * Activate the tracked tab `id`, or `build`, track, add and activate a new
   * one (closable, with the Ray icon).
   */
  export function openTab<T extends MainAreaWidget>(
    app: JupyterFrontEnd,
    tracker: WidgetTracker<T>,
    id: string,
    build: () => T
  ): T {
    let widget = tracker.find(open => open.id === id);
    if (!widget) {
      widget = build();
      widget.id = id;
      widget.title.icon = rayIcon;
      widget.title.closable = true;
      void tracker.add(widget);
      app.shell.add(widget, 'main');
    }
    app.shell.activateById(id);
    return widget;
  }
}
