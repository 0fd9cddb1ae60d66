import {
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

import { StatusService } from './api/StatusService';
import type { IStatus } from './api/types';
import { statusRows } from './format';
import { RayStatusItem } from './statusbar';
import {
  COMMAND_CATEGORY,
  CommandIDs,
  DEFAULT_REFRESH_INTERVAL_MS,
  MIN_REFRESH_INTERVAL_MS,
  PLUGIN_ID
} from './tokens';

export * from './api';
export * from './tokens';

/**
 * Build the dialog body describing the server status.
 *
 * Server-provided text is only ever assigned through `textContent`.
 *
 * @param status The status document.
 * @returns A widget holding a definition list.
 */
export function createStatusBody(status: IStatus): Widget {
  const body = new Widget();
  body.addClass('iog-StatusDialog');
  const list = document.createElement('dl');
  list.className = 'iog-StatusDialog-list';
  for (const [label, value] of statusRows(status)) {
    const term = document.createElement('dt');
    term.textContent = label;
    const detail = document.createElement('dd');
    detail.textContent = value;
    list.append(term, detail);
  }
  body.node.appendChild(list);
  return body;
}

/**
 * Read the refresh interval from the plugin settings.
 *
 * @param settings The plugin settings.
 * @returns The interval in milliseconds, clamped to the accepted minimum.
 */
function readInterval(settings: ISettingRegistry.ISettings): number {
  const value = settings.get('refreshIntervalMs').composite;
  return typeof value === 'number' && Number.isFinite(value)
    ? Math.max(value, MIN_REFRESH_INTERVAL_MS)
    : DEFAULT_REFRESH_INTERVAL_MS;
}

/**
 * The iog-jupyter frontend plugin: a `Ray` palette command showing the
 * server status and a status bar item with the cluster's free resources.
 */
const plugin: JupyterFrontEndPlugin<void> = {
  id: PLUGIN_ID,
  description: 'Shows the Ray cluster resources served by iog-jupyter.',
  autoStart: true,
  optional: [ICommandPalette, IStatusBar, ISettingRegistry],
  activate: (
    app: JupyterFrontEnd,
    palette: ICommandPalette | null,
    statusBar: IStatusBar | null,
    settingRegistry: ISettingRegistry | null
  ): void => {
    const service = new StatusService({
      serverSettings: app.serviceManager.serverSettings
    });

    app.commands.addCommand(CommandIDs.showStatus, {
      label: 'Show Ray Status',
      caption: 'Show the Ray connection status of the iog server extension',
      execute: async () => {
        try {
          const status = await service.getStatus();
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

    if (palette) {
      palette.addItem({
        command: CommandIDs.showStatus,
        category: COMMAND_CATEGORY
      });
    }

    if (!statusBar) {
      return;
    }
    const item = new RayStatusItem({
      service,
      interval: DEFAULT_REFRESH_INTERVAL_MS,
      onClick: () => {
        void app.commands.execute(CommandIDs.showStatus);
      }
    });
    statusBar.registerStatusItem(PLUGIN_ID, {
      item,
      align: 'left',
      rank: 100
    });

    if (settingRegistry) {
      settingRegistry
        .load(PLUGIN_ID)
        .then(settings => {
          const update = (): void => {
            item.interval = readInterval(settings);
          };
          update();
          settings.changed.connect(update);
        })
        .catch(reason => {
          // Keep the default interval; the failure is shown in the console
          // by the setting registry itself.
          void reason;
        });
    }
  }
};

export default plugin;
