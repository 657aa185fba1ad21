export * from './feed-item.js';
export * from './image-hosts.js';
export * from './iso-time.js';
export * from './plain-url.js';
export * from './profiles.js';
export * from './validate.js';
export * from './page-settings.js';
export * from './moderation.js';
