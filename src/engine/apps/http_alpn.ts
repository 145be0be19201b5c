// `serve --mode http` picks its protocol per connection from the ALPN the handshake settled:
// h2 gets the HTTP/2 app, anything else (http/1.1, http/1.0, no ALPN at all) the HTTP/1.x app as
// it always was. The choice is made once, at the handshake, by handing the connection to the
// chosen app (the loop reads conn.handler on every event).
import type { Connection } from '../connection';
import { HttpApp } from './http';
import { Http2App } from './http2';

export class HttpByAlpnApp extends HttpApp {
  override onHandshake(conn: Connection): void {
    if (conn.session.alpn() !== 'h2') return super.onHandshake(conn);
    const h2 = new Http2App(this.o);
    conn.handler = h2;
    h2.onHandshake(conn);
  }
}
