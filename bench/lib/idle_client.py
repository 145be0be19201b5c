#!/usr/bin/env python3
# An independent client for bench/memory.js: opens N TLS 1.3 connections with Python's own ssl
# module (OpenSSL through CPython, nothing of iocptls), `concurrency` handshakes at a time, sends
# nothing, and holds them. Prints "held OK FAILED [reason=count,...]" once every one was tried;
# on a line from stdin closes them all (close_notify, then FIN) and prints "closed".
#
#   python3 idle_client.py HOST PORT N [CONCURRENCY] [SOURCE_ADDRESS]
import asyncio
import collections
import resource
import ssl
import sys


class Holder(asyncio.Protocol):
    def __init__(self):
        self.closed = asyncio.get_running_loop().create_future()

    def data_received(self, data):
        pass  # nothing is asked, so nothing is expected; whatever comes is dropped

    def connection_lost(self, exc):
        if not self.closed.done():
            self.closed.set_result(None)


async def main():
    host, port, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    concurrency = int(sys.argv[4]) if len(sys.argv) > 4 else 100
    source = sys.argv[5] if len(sys.argv) > 5 else None
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    loop = asyncio.get_running_loop()
    sem = asyncio.Semaphore(concurrency)
    held = []
    failed = collections.Counter()

    async def one():
        async with sem:
            try:
                tr, pr = await loop.create_connection(
                    Holder, host, port, ssl=ctx, server_hostname='localhost',
                    local_addr=(source, 0) if source else None, ssl_handshake_timeout=60)
                held.append((tr, pr))
            except Exception as e:  # counted by kind, the run goes on
                failed[type(e).__name__] += 1

    await asyncio.gather(*(one() for _ in range(n)))
    reasons = ','.join(f'{k}={v}' for k, v in failed.items())
    print(f'held {len(held)} {sum(failed.values())} {reasons}'.strip(), flush=True)
    await loop.run_in_executor(None, sys.stdin.readline)
    for tr, _ in held:
        tr.close()
    await asyncio.wait_for(asyncio.gather(*(pr.closed for _, pr in held)), 120)
    print('closed', flush=True)


asyncio.run(main())
