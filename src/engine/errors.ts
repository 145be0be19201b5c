// Coded, structured errors (undici style): each class is branded so `instanceof` survives
// duplicate module copies, and workers can ship {code, message, ...fields} to the main thread.

export class IocptlsError extends Error {
  code: string = 'IOCPTLS_ERR';
  /** Short machine-friendly reason used to count errors by kind in reports (e.g. 'refused', 'alert:handshake failure'). */
  reason: string = 'error';
  constructor(message: string) {
    super(message);
    this.name = 'IocptlsError';
  }
  toJSON(): Record<string, unknown> {
    return { code: this.code, reason: this.reason, message: this.message };
  }
}

/** A TLS failure, carrying OpenSSL's own reason strings. */
export class TlsError extends IocptlsError {
  constructor(
    message: string,
    /** OpenSSL's reason for the first error in the queue, e.g. 'no shared cipher'. */
    readonly sslReason: string,
    /** The alert's name when one was received or sent, e.g. 'handshake failure'. */
    readonly alert?: string,
    /** X509_verify_cert_error_string of a failed verification, e.g. 'certificate has expired'. */
    readonly verify?: string
  ) {
    super(message);
    this.name = 'TlsError';
    this.code = verify ? 'IOCPTLS_ERR_TLS_VERIFY' : alert ? 'IOCPTLS_ERR_TLS_ALERT' : 'IOCPTLS_ERR_TLS';
    this.reason = verify ? `verify: ${verify}` : alert ? `alert: ${alert}` : `tls: ${sslReason}`;
  }
  override toJSON() {
    return { ...super.toJSON(), sslReason: this.sslReason, alert: this.alert, verify: this.verify };
  }
}

/** A socket-level failure: the completion result as a Linux errno name. */
export class NetError extends IocptlsError {
  constructor(
    message: string,
    readonly errno: string,
    reason: string
  ) {
    super(message);
    this.name = 'NetError';
    this.code = 'IOCPTLS_ERR_NET';
    this.reason = reason;
  }
  override toJSON() {
    return { ...super.toJSON(), errno: this.errno };
  }
}

/** Bad configuration (flags, files): reported once, never per connection. */
export class ConfigError extends IocptlsError {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
    this.code = 'IOCPTLS_ERR_CONFIG';
    this.reason = 'config';
  }
}

/** Rebuilds an error shipped from a worker as JSON. */
export function errorFromJSON(j: { code?: string; message: string; reason?: string; [k: string]: unknown }): IocptlsError {
  let e: IocptlsError;
  if (j.code?.startsWith('IOCPTLS_ERR_TLS')) {
    e = new TlsError(j.message, String(j.sslReason ?? ''), j.alert as string | undefined, j.verify as string | undefined);
  } else if (j.code === 'IOCPTLS_ERR_NET') {
    e = new NetError(j.message, String(j.errno ?? ''), j.reason ?? 'net');
  } else if (j.code === 'IOCPTLS_ERR_CONFIG') {
    e = new ConfigError(j.message);
  } else {
    e = new IocptlsError(j.message);
  }
  if (j.reason) e.reason = j.reason;
  return e;
}
