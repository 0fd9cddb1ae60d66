import { ServerConnection } from '@jupyterlab/services';

import { encodePathSegment, queryString } from './path';
import { requestAPI } from './request';
import type { ActorKillReply, ActorListQuery, ActorPage } from './types';

/**
 * Client of the server extension's actors endpoints, one method per
 * endpoint. Errors reject as in `JobsService`.
 */
export class ActorsService {
  /**
   * Create a new actors service.
   *
   * @param options The service options.
   */
  constructor(options: ActorsService.IOptions = {}) {
    this.serverSettings =
      options.serverSettings ?? ServerConnection.makeSettings();
  }

  /**
   * The server settings used for every request.
   */
  readonly serverSettings: ServerConnection.ISettings;

  /**
   * Fetch one page of named actors (`GET actors`).
   *
   * @param query The filters, page size and cursor.
   * @returns The page, its next cursor and the number of matching actors.
   */
  listActors(query: ActorListQuery = {}): Promise<ActorPage> {
    const search = queryString({
      detached: query.detached,
      namespace: query.namespace,
      state: query.state?.length ? query.state.join(',') : undefined,
      limit: query.limit,
      cursor: query.cursor
    });
    return requestAPI<ActorPage>(`actors${search}`, {}, this.serverSettings);
  }

  /**
   * Kill a named actor (`DELETE actors/{namespace}/{name}`).
   *
   * @param namespace The actor's Ray namespace.
   * @param name The actor's name.
   * @returns Whether it was killed.
   */
  killActor(namespace: string, name: string): Promise<ActorKillReply> {
    return requestAPI<ActorKillReply>(
      `actors/${encodePathSegment(namespace)}/${encodePathSegment(name)}`,
      { method: 'DELETE' },
      this.serverSettings
    );
  }
}

/**
 * A namespace for `ActorsService` statics.
 */
export namespace ActorsService {
  /**
   * Options to create an `ActorsService`.
   */
  export interface IOptions {
    /**
     * Server settings; defaults to `ServerConnection.makeSettings()`.
     */
    serverSettings?: ServerConnection.ISettings;
  }
}
