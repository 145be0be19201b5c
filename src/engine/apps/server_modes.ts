// Server mode name -> app, one app instance per connection.
import type { Connection, ConnHandler } from '../connection';
import { EchoApp } from './echo';
import { HandshakeOnlyApp } from './handshake_only';
import { HttpByAlpnApp } from './http_alpn';
import type { ServerAppOptions, ServerMode } from './server_app';
import { SinkApp } from './sink';
import { SourceApp } from './source';

export function serverAppFactory(mode: ServerMode, o: ServerAppOptions): (conn: Connection) => ConnHandler {
  switch (mode) {
    case 'echo':
      return () => new EchoApp(o);
    case 'sink':
      return () => new SinkApp(o);
    case 'source':
      return () => new SourceApp(o);
    case 'http':
      return () => new HttpByAlpnApp(o);
    case 'handshake':
      return () => new HandshakeOnlyApp(o);
  }
}
