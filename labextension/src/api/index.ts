export * from './request';
export * from './StatusService';
export * from './types';
