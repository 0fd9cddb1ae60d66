/**
 * Unit tests of the logs plugin: `iog:open-job-log` opens one panel per job
 * (ids and titles of the DOM contract) with a "Stop job" button while the
 * job runs, `iog:open-dashboard` opens the sandboxed dashboard tab, both are
 * in the palette, and `logMaxLines` comes from the main plugin's settings.
 *
 * @jest-environment jsdom
 */

jest.mock('@jupyterlab/application', () => ({
  ILayoutRestorer: { name: 'ILayoutRestorer' }
}));
jest.mock('@jupyterlab/settingregistry', () => ({
  ISettingRegistry: { name: 'ISettingRegistry' }
}));
jest.mock('@jupyterlab/services', () =>
  jest.requireActual('./fakes').servicesStub()
);
jest.mock('../api/request', () => ({
  ...jest.requireActual('../api/request'),
  requestAPI: jest.fn()
}));
jest.mock('../icons', () => ({ rayIcon: { name: 'iog-jupyter:ray' } }));
jest.mock('@jupyterlab/ui-components', () => {
  const { Widget } = jest.requireActual('@lumino/widgets');
  class ToolbarButton extends Widget {
    constructor(readonly props: { label?: string; onClick: () => void }) {
      super();
      this.node.textContent = props.label ?? '';
    }
  }
  return { ToolbarButton, stopIcon: {}, refreshIcon: {} };
});
jest.mock('@jupyterlab/apputils', () => {
  const { Widget } = jest.requireActual('@lumino/widgets');
  class MainAreaWidget extends Widget {
    constructor(options: { content: InstanceType<typeof Widget> }) {
      super();
      this.content = options.content;
      this.node.appendChild(options.content.node);
    }
    content: InstanceType<typeof Widget>;
    toolbar = {
      items: new Map<string, unknown>(),
      addItem(name: string, item: unknown): boolean {
        this.items.set(name, item);
        return true;
      }
    };
  }
  class WidgetTracker {
    widgets: InstanceType<typeof Widget>[] = [];
    add(widget: InstanceType<typeof Widget>): Promise<void> {
      this.widgets.push(widget);
      return Promise.resolve();
    }
    find(
      test: (widget: InstanceType<typeof Widget>) => boolean
    ): InstanceType<typeof Widget> | undefined {
      return this.widgets.find(test);
    }
  }
  return {
    ICommandPalette: { name: 'ICommandPalette' },
    InputDialog: { getText: jest.fn() },
    MainAreaWidget,
    WidgetTracker
  };
});

import type { JupyterFrontEnd } from '@jupyterlab/application';
import { InputDialog, MainAreaWidget } from '@jupyterlab/apputils';
import type { ISettingRegistry } from '@jupyterlab/settingregistry';
import { CommandRegistry } from '@lumino/commands';
import type { Widget } from '@lumino/widgets';

import logsPlugin, { LOGS_PLUGIN_ID } from '../logs';
import { CommandIDs, PLUGIN_ID } from '../tokens';
import { DashboardPanel } from '../widgets/DashboardPanel';
import { JobLogPanel } from '../widgets/JobLogPanel';
import { requestAPI } from '../api/request';
import { flush, makeSettings, sockets } from './fakes';

type LogWidget = MainAreaWidget<JobLogPanel> & {
  toolbar: { items: Map<string, Widget & { props: { onClick(): void } }> };
};

function activate(): {
  commands: CommandRegistry;
  added: Widget[];
  paletteItems: { command: string; category: string }[];
  stopped: unknown[];
  loaded: Promise<void>;
} {
  const commands = new CommandRegistry();
  const added: Widget[] = [];
  const stopped: unknown[] = [];
  commands.addCommand(CommandIDs.stopJob, {
    execute: args => {
      stopped.push(args);
    }
  });
  const app = {
    commands,
    shell: { add: (widget: Widget) => added.push(widget), activateById() {} },
    serviceManager: {
      serverSettings: { ...makeSettings(), baseUrl: 'http://localhost:8888/b/' }
    }
  };
  const paletteItems: { command: string; category: string }[] = [];
  const palette = { addItem: (item: never) => paletteItems.push(item) };
  const settings = {
    get: (key: string) => ({ composite: key === 'logMaxLines' ? 250 : null }),
    changed: { connect: () => undefined }
  };
  let loadedResolve!: () => void;
  const loaded = new Promise<void>(resolve => (loadedResolve = resolve));
  const registry = {
    load: async (id: string) => {
      expect(id).toBe(PLUGIN_ID);
      setTimeout(loadedResolve, 0);
      return settings;
    }
  };
  logsPlugin.activate(
    app as unknown as JupyterFrontEnd,
    palette,
    null,
    registry as unknown as ISettingRegistry
  );
  return { commands, added, paletteItems, stopped, loaded };
}

beforeEach(() => {
  sockets.length = 0;
  // No job record: the tab keeps the id as its name.
  (requestAPI as jest.Mock).mockRejectedValue(new Error('no such job'));
});

describe('logs plugin', () => {
  it('registers both commands in the Ray palette category', () => {
    expect(logsPlugin.id).toBe(LOGS_PLUGIN_ID);
    expect(LOGS_PLUGIN_ID).toBe('iog-jupyter:logs');
    const { commands, paletteItems } = activate();
    expect(paletteItems).toEqual([
      { command: 'iog:open-job-log', category: 'Ray' },
      { command: 'iog:open-dashboard', category: 'Ray' }
    ]);
    expect(commands.label(CommandIDs.openDashboard)).toBe('Open Ray Dashboard');
    expect(commands.label(CommandIDs.openJobLog, { submissionId: 'x' })).toBe(
      'Log: x'
    );
  });

  it('opens one log panel per job, with the settings bound and Stop job', async () => {
    const { commands, added, stopped, loaded } = activate();
    await loaded;
    const getJob = requestAPI as jest.Mock;
    getJob.mockResolvedValueOnce({ submission_id: 'job-1.a_b', name: 'train' });
    const widget = (await commands.execute(CommandIDs.openJobLog, {
      submissionId: 'job-1.a_b'
    })) as LogWidget;
    expect(widget.id).toBe('iog-job-log-job-1.a_b');
    // Named by the job's name once known; the id stays in the caption.
    await flush();
    expect(getJob.mock.calls[0][0]).toBe('jobs/job-1.a_b');
    expect(widget.title.label).toBe('Log: train');
    expect(widget.title.caption).toBe('Live log of Ray job train (job-1.a_b)');
    expect(widget.content.node.classList).toContain('iog-JobLogPanel');
    expect(widget.content.model.window.maxLines).toBe(250);
    expect(sockets[0].url).toBe(
      'ws://localhost:8888/iog/api/v1/jobs/job-1.a_b/logs/tail?offset=0'
    );
    // The same job's panel is reused.
    const again = await commands.execute(CommandIDs.openJobLog, {
      submissionId: 'job-1.a_b'
    });
    expect(again).toBe(widget);
    expect(added).toEqual([widget]);
    expect(sockets).toHaveLength(1);

    const stop = widget.toolbar.items.get('stop');
    expect(stop?.node.textContent).toBe('Stop job');
    expect(stop?.isHidden).toBe(false);
    stop?.props.onClick();
    await Promise.resolve();
    expect(stopped).toEqual([{ submissionId: 'job-1.a_b' }]);
    sockets[0].open();
    sockets[0].receive({ type: 'status', status: 'STOPPED', exit_code: null });
    expect(stop?.isHidden).toBe(true);
    widget.dispose();
    expect(sockets[0].closed).toBe(true);
  });

  it('asks for the submission id when run from the palette', async () => {
    const getText = InputDialog.getText as jest.Mock;
    const { commands, added } = activate();
    getText.mockResolvedValueOnce({ button: { accept: false }, value: 'x' });
    await expect(commands.execute(CommandIDs.openJobLog)).resolves.toBeNull();
    getText.mockResolvedValueOnce({ button: { accept: true }, value: ' j2 ' });
    const widget = (await commands.execute(CommandIDs.openJobLog)) as Widget;
    expect(widget.id).toBe('iog-job-log-j2');
    await flush();
    expect(widget.title.label).toBe('Log: j2');
    expect(added).toEqual([widget]);
  });

  it('opens the dashboard tab once, in a sandboxed frame', async () => {
    const { commands, added } = activate();
    const widget = (await commands.execute(
      CommandIDs.openDashboard
    )) as MainAreaWidget<DashboardPanel>;
    expect(widget.id).toBe('iog-dashboard');
    expect(widget.title.label).toBe('Ray Dashboard');
    const frame = widget.node.querySelector(
      '.iog-DashboardPanel iframe'
    ) as HTMLIFrameElement;
    expect(frame.getAttribute('src')).toBe(
      'http://localhost:8888/b/iog/dashboard/'
    );
    expect(frame.getAttribute('sandbox')).not.toContain('allow-same-origin');
    expect(await commands.execute(CommandIDs.openDashboard)).toBe(widget);
    expect(added).toEqual([widget]);
  });
});
