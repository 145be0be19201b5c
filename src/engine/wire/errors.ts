// The one error the wire codec throws: what a peer sent (or asked us to encode) does not parse.
import { IocptlsError } from '../errors';

export class WireError extends IocptlsError {
  constructor(
    /** Where: 'record', 'handshake', 'server_hello', 'certificate', 'server_key_exchange', 'ssl2', 'encode'. */
    readonly where: string,
    message: string
  ) {
    super(`${where}: ${message}`);
    this.name = 'WireError';
    this.code = 'IOCPTLS_ERR_WIRE';
    this.reason = `malformed ${where}`;
  }
  override toJSON() {
    return { ...super.toJSON(), where: this.where };
  }
}
