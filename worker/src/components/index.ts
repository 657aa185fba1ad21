import { ComponentRegistry } from '../engine/registry.js';
import { amqpComponent } from './amqp/index.js';
import { appviewComponent } from './appview/index.js';
import { fileComponent } from './file/index.js';
import { hubComponent } from './hub/index.js';
import { jetstreamComponent } from './jetstream/index.js';
import { logComponent } from './log/index.js';
import { mastodonComponent } from './mastodon/index.js';
import { replayComponent } from './replay/index.js';
import { stompComponent } from './stomp/index.js';
import { xComponent } from './x/index.js';

/** The URI schemes the worker knows, with hubs of their own. Tests add `mock:` themselves. */
export function defaultComponents(): ComponentRegistry {
  return new ComponentRegistry()
    .register(replayComponent)
    .register(xComponent)
    .register(jetstreamComponent)
    .register(mastodonComponent)
    .register(appviewComponent)
    .register(amqpComponent)
    .register(stompComponent)
    .register(fileComponent)
    .register(logComponent)
    .register(hubComponent());
}
