import { connect, createServer, type Server, type Socket } from 'node:net';

/**
 * A loopback TCP forwarder in front of a real service. Closing it makes the service unreachable
 * to whoever uses the proxy's address, without disturbing other tests that share the service.
 */
export class TcpProxy {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  private port = 0;
  /** Connections accepted so far: how a test proves a request never reached the service. */
  connections = 0;

  private constructor(
    private readonly targetHost: string,
    private readonly targetPort: number,
  ) {}

  /** Starts a proxy to `targetUrl` (its host and port) and returns it with its own URL. */
  static async start(targetUrl: string): Promise<{ proxy: TcpProxy; url: string }> {
    const target = new URL(targetUrl);
    const proxy = new TcpProxy(
      target.hostname,
      Number(target.port || (target.protocol === 'https:' ? 443 : 80)),
    );
    const port = await proxy.listen();
    return { proxy, url: `${target.protocol}//127.0.0.1:${port}` };
  }

  private listen(port = 0): Promise<number> {
    this.server = createServer((client) => {
      this.connections++;
      const upstream = connect(this.targetPort, this.targetHost);
      for (const socket of [client, upstream]) {
        this.sockets.add(socket);
        socket.on('close', () => this.sockets.delete(socket));
        socket.on('error', () => socket.destroy());
      }
      client.pipe(upstream).pipe(client);
    });
    return new Promise((resolve) =>
      this.server?.listen(port, '127.0.0.1', () => {
        const address = this.server?.address();
        this.port = typeof address === 'object' && address ? address.port : 0;
        resolve(this.port);
      }),
    );
  }

  /** Accepts connections again, on the same port: the backend is back. */
  async reopen(): Promise<void> {
    await this.listen(this.port);
  }

  /** Refuses new connections and cuts open ones: the backend is down. */
  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
    this.server = undefined;
  }
}
