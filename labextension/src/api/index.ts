export * from './request';
export * from './services';
export * from './types';
export * from './socket';
