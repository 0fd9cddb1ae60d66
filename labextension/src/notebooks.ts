import type {
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import {
  ICommandPalette,
  Notification,
  showErrorMessage
} from '@jupyterlab/apputils';
import { IDefaultFileBrowser } from '@jupyterlab/filebrowser';
import { INotebookTracker, NotebookPanel } from '@jupyterlab/notebook';
import { ToolbarButton } from '@jupyterlab/ui-components';

import { NotebookJobsService, StatusService } from './api/services';
import type { NotebookSubmitReply } from './api/types';
import { poolNames } from './format';
import { rayIcon } from './icons';
import { describeError } from './models/connection';
import { followJob } from './notify';
import { COMMAND_CATEGORY, CommandIDs } from './tokens';
import { runNotebookWithDialog } from './widgets/actions';
import { parseParameters } from './widgets/notebookParameters';

/** The command's label, in menus, the palette and the toolbar's tooltip. */
export const RUN_NOTEBOOK_LABEL = 'Run as Ray job…';

/**
 * The plugin that runs notebooks as Ray jobs: the command
 * `iog:run-notebook-as-job` ("Run as Ray job…"), a button in every
 * notebook's toolbar, and an item in the file browser's context menu of
 * notebooks. The command saves an open notebook with unsaved changes, reads
 * its cell tagged `parameters`, shows the dialog, submits, watches the job
 * (a notification when it ends), opens its log tab and says where the
 * executed copy will appear.
 */
const notebooksPlugin: JupyterFrontEndPlugin<void> = {
  id: 'iog-jupyter:notebooks',
  description:
    'Run a notebook as a Ray job from its toolbar or the file browser.',
  autoStart: true,
  optional: [INotebookTracker, IDefaultFileBrowser, ICommandPalette],
  activate: (
    app: JupyterFrontEnd,
    tracker: INotebookTracker | null,
    browser: IDefaultFileBrowser | null,
    palette: ICommandPalette | null
  ): void => {
    const serverSettings = app.serviceManager.serverSettings;
    const service = new NotebookJobsService({ serverSettings });
    const status = new StatusService({ serverSettings });

    /** The notebook a call is about: its `path`, or what is selected. */
    const notebookPath = (args: Record<string, unknown>): string | null => {
      if (typeof args.path === 'string' && args.path) {
        return args.path;
      }
      const current = tracker?.currentWidget;
      if (current && args.source !== 'file-browser') {
        return current.context.path;
      }
      for (const item of browser?.selectedItems() ?? []) {
        if (item.type === 'notebook') {
          return item.path;
        }
      }
      return null;
    };

    app.commands.addCommand(CommandIDs.runNotebookAsJob, {
      label: RUN_NOTEBOOK_LABEL,
      caption:
        'Run this notebook top to bottom as a Ray job, with parameters; ' +
        'the executed copy comes back next to it',
      icon: args => (args.isPalette ? undefined : rayIcon),
      execute: async args => {
        const path = notebookPath(args);
        if (!path) {
          await showErrorMessage(
            'Run as Ray job',
            'Open a notebook, or select one in the file browser, first.'
          );
          return null;
        }
        let reply: NotebookSubmitReply | null;
        try {
          reply = await runNotebookWithDialog(service, {
            path,
            parameters: await Private.readParameters(app, tracker, path),
            // None to suggest when the cluster cannot be reached.
            pools: await status.getCluster().then(poolNames, () => [])
          });
        } catch (reason) {
          await showErrorMessage('Run as Ray job', describeError(reason));
          return null;
        }
        if (!reply) {
          return null;
        }
        const submissionId = reply.submission_id;
        await followJob(app.commands, submissionId);
        Notification.success(
          `Ray job ${submissionId} runs ${reply.notebook}; the executed ` +
            `notebook will be written to ${reply.output} when it ends.`,
          { autoClose: 10000 }
        );
        return reply;
      }
    });

    tracker?.widgetAdded.connect((_, panel: NotebookPanel) => {
      panel.toolbar.addItem(
        'iog-run-as-job',
        new ToolbarButton({
          icon: rayIcon,
          label: 'Run as job',
          tooltip: RUN_NOTEBOOK_LABEL,
          onClick: () =>
            void app.commands.execute(CommandIDs.runNotebookAsJob, {
              path: panel.context.path
            })
        })
      );
    });
    app.contextMenu.addItem({
      command: CommandIDs.runNotebookAsJob,
      args: { source: 'file-browser' },
      selector: '.jp-DirListing-item[data-file-type="notebook"]',
      rank: 10
    });
    palette?.addItem({
      command: CommandIDs.runNotebookAsJob,
      category: COMMAND_CATEGORY
    });
  }
};

export default notebooksPlugin;

/** Module-private helpers. */
namespace Private {
  /**
   * Save the notebook if it is open with unsaved changes (so the job runs
   * what the user sees), then read its parameters from the saved file.
   *
   * @returns Its parameters' JSON text, by name.
   */
  export async function readParameters(
    app: JupyterFrontEnd,
    tracker: INotebookTracker | null,
    path: string
  ): Promise<Record<string, string>> {
    const open = tracker?.find(panel => panel.context.path === path);
    if (open?.context.model.dirty) {
      await open.context.save();
    }
    const model = await app.serviceManager.contents.get(path, {
      type: 'notebook',
      content: true
    });
    return parseParameters(model.content);
  }
}
