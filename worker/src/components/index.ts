import { ComponentRegistry } from '../engine/registry.js';
import { amqpComponent } from './amqp/index.js';
import { logComponent } from './log/index.js';
import { replayComponent } from './replay/index.js';

/** The URI schemes the worker knows. */
export function defaultComponents(): ComponentRegistry {
  return new ComponentRegistry().register(replayComponent).register(amqpComponent).register(logComponent);
}
