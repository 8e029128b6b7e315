import de.bwaldvogel.mongo.MongoServer;
import de.bwaldvogel.mongo.backend.memory.MemoryBackend;
import java.util.concurrent.CountDownLatch;

/**
 * Runs mongo-java-server with its in-memory backend on the given host and port until SIGTERM.
 * Started with Java's single-file source launcher, so nothing needs compiling:
 * java -cp <classpath> stack/java/MongoServerLauncher.java <host> <port>
 */
public final class MongoServerLauncher {
    public static void main(String[] args) throws InterruptedException {
        if (args.length != 2) {
            System.err.println("usage: MongoServerLauncher <host> <port>");
            System.exit(2);
        }
        String host = args[0];
        int port = Integer.parseInt(args[1]);
        MongoServer server = new MongoServer(new MemoryBackend());
        server.bind(host, port);

        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            server.shutdown();
            System.out.println("mongo-java-server stopped");
            stopped.countDown();
        }, "mongo-shutdown"));

        System.out.println("mongo-java-server ready on " + host + ":" + port);
        stopped.await();
    }
}
