import type { LabIcon } from '@jupyterlab/ui-components';
import type { CommandRegistry } from '@lumino/commands';
import { DisposableSet, IDisposable } from '@lumino/disposable';
import { Panel } from '@lumino/widgets';

import type { ActorsModel } from '../models/ActorsModel';
import type { ClusterModel } from '../models/ClusterModel';
import type { JobsModel } from '../models/JobsModel';
import type { SessionsModel } from '../models/SessionsModel';
import type { UsageModel } from '../models/UsageModel';
import { SIDEBAR_ID } from '../tokens';
import { ActorsSection } from './ActorsSection';
import { ClusterSection } from './ClusterSection';
import { ConnectionBanner } from './ConnectionBanner';
import { JobsSection } from './JobsSection';
import { SessionsSection } from './SessionsSection';
import { SidebarSection } from './SidebarSection';
import { UsageSection } from './UsageSection';

/**
 * The Ray sidebar in JupyterLab's left area: a connection banner, then the
 * cluster, jobs, sessions, actors and (given a usage model) usage sections,
 * each collapsible.
 *
 * The sidebar owns nothing but its widgets; whoever creates the models
 * disposes of them (see `dispose` for the optional hand-over).
 */
export class RaySidebar extends Panel {
  constructor(options: RaySidebar.IOptions) {
    super();
    this.id = SIDEBAR_ID;
    this.addClass('iog-Sidebar');
    // A label in the left bar beside the icon (Lab shows a tab's label there), and a tooltip.
    this.title.label = 'Ray';
    this.title.caption = 'Ray cluster';
    if (options.icon) {
      this.title.icon = options.icon;
    }
    const { cluster, jobs, sessions, actors, usage, commands } = options;
    this.sections = [
      new ClusterSection({ model: cluster, commands }),
      new JobsSection({ model: jobs, commands }),
      new SessionsSection({ model: sessions }),
      new ActorsSection({ model: actors }),
      ...(usage ? [new UsageSection({ model: usage })] : [])
    ];
    this.addWidget(new ConnectionBanner({ model: cluster }));
    for (const section of this.sections) {
      this.addWidget(section);
    }
    this.setExpandedSections(options.expanded ?? SidebarSection.KEYS);
    this._owned = DisposableSet.from(options.disposeWithSidebar ?? []);
  }

  /** The sections, in display order. */
  readonly sections: ReadonlyArray<SidebarSection>;

  /** Expand exactly the named sections and collapse the others. */
  setExpandedSections(keys: ReadonlyArray<string>): void {
    for (const section of this.sections) {
      section.expanded = keys.includes(section.key);
    }
  }

  /**
   * Dispose of the sidebar, then of what was handed over with
   * `disposeWithSidebar` (the models, their sockets and polls).
   */
  dispose(): void {
    super.dispose();
    this._owned.dispose();
  }

  private _owned: DisposableSet;
}

/** A namespace for `RaySidebar` statics. */
export namespace RaySidebar {
  /** Options to create a `RaySidebar`. */
  export interface IOptions {
    /** The cluster model (banner and cluster section). */
    cluster: ClusterModel;
    /** The jobs model. */
    jobs: JobsModel;
    /** The sessions model. */
    sessions: SessionsModel;
    /** The actors model. */
    actors: ActorsModel;
    /** The usage model; without one the sidebar has no usage section. */
    usage?: UsageModel;
    /** The application's commands (submit, open log, dashboard). */
    commands: CommandRegistry;
    /** The tab icon (`iog-jupyter:ray`). */
    icon?: LabIcon;
    /**
     * The sections shown expanded (default all), as `defaultSections`
     * names them.
     */
    expanded?: ReadonlyArray<string>;
    /** Objects disposed of with the sidebar (models, the change feed). */
    disposeWithSidebar?: ReadonlyArray<IDisposable>;
  }
}
