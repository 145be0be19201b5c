// sink: discards what it receives, counting it.
import { ServerApp } from './server_app';

export class SinkApp extends ServerApp {}
