import { createServer, type Server, type Socket } from 'node:net';

/**
 * A TCP server on 127.0.0.1 that accepts connections and never answers: a hung backend (store,
 * DynamoDB, Secrets Manager, STS). With `trickle`, it answers an HTTP 200 whose body never ends,
 * one byte at a time, so no socket ever goes idle.
 */
export class HungServer {
  /** Connections accepted so far: proof that a call really went here. */
  connections = 0;
  private readonly sockets = new Set<Socket>();
  private readonly timers = new Set<NodeJS.Timeout>();

  private constructor(
    private readonly server: Server,
    readonly url: string,
  ) {}

  static async start(options: { trickle?: boolean } = {}): Promise<HungServer> {
    let hung: HungServer | undefined;
    const server = createServer((socket) => {
      if (hung === undefined) {
        socket.destroy();
        return;
      }
      hung.connections++;
      hung.sockets.add(socket);
      socket.on('error', () => socket.destroy());
      socket.on('close', () => hung?.sockets.delete(socket));
      if (options.trickle) {
        socket.write('HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 1000000\r\n\r\n');
        const timer = setInterval(() => socket.write(' '), 50);
        hung.timers.add(timer);
        socket.on('close', () => clearInterval(timer));
      }
    });
    await new Promise<void>((ready) => server.listen(0, '127.0.0.1', ready));
    const address = server.address();
    const port = typeof address === 'object' && address !== null ? address.port : 0;
    hung = new HungServer(server, `http://127.0.0.1:${port}`);
    return hung;
  }

  async close(): Promise<void> {
    for (const timer of this.timers) clearInterval(timer);
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((done) => this.server.close(() => done()));
  }
}
