// handshake: close (with close_notify) right after the handshake: pure handshake load.
import type { Connection } from '../connection';
import { ServerApp } from './server_app';

export class HandshakeOnlyApp extends ServerApp {
  override onHandshake(conn: Connection): void {
    super.onHandshake(conn);
    conn.close('notify');
  }
}
