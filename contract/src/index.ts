export * from './feed-item.js';
export * from './image-hosts.js';
export * from './validate.js';
