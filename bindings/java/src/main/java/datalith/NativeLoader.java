package datalith;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Locale;

/**
 * Loads libdatalith_jni, in this order:
 *
 * <ol>
 * <li>the system property {@code datalith.library.path}: the library file, or
 *     a directory holding it;</li>
 * <li>the copy inside the jar, {@code /datalith/native/<os>/<arch>/<lib>}:
 *     extracted to {@code java.io.tmpdir} as
 *     {@code datalith-<sha256 prefix>-<lib>} (a content-named file: an
 *     existing one with the same bytes is reused, a new one is written to a
 *     temporary name and moved into place atomically, so concurrent JVMs never
 *     load a half-written file);</li>
 * <li>{@code System.loadLibrary("datalith_jni")} (java.library.path).</li>
 * </ol>
 */
public final class NativeLoader {
    private static boolean loaded;

    private NativeLoader() {}

    static String os() {
        String os = System.getProperty("os.name", "").toLowerCase(Locale.ROOT);
        if (os.contains("mac") || os.contains("darwin")) return "mac";
        if (os.contains("win")) return "windows";
        return "linux";
    }

    static String libName() {
        return System.mapLibraryName("datalith_jni");
    }

    /** The resource path of the library for this platform. */
    public static String resourcePath() {
        return "/datalith/native/" + os() + "/" + System.getProperty("os.arch") + "/" + libName();
    }

    public static synchronized void load() {
        if (loaded) return;
        String override = System.getProperty("datalith.library.path");
        if (override != null && !override.isEmpty()) {
            Path p = Paths.get(override);
            if (Files.isDirectory(p)) p = p.resolve(libName());
            System.load(p.toAbsolutePath().toString());
            loaded = true;
            return;
        }
        try (InputStream in = NativeLoader.class.getResourceAsStream(resourcePath())) {
            if (in != null) {
                System.load(extract(in.readAllBytes()).toString());
                loaded = true;
                return;
            }
        } catch (IOException e) {
            throw new UnsatisfiedLinkError("datalith: cannot extract " + resourcePath() + ": " + e);
        }
        System.loadLibrary("datalith_jni");
        loaded = true;
    }

    private static Path extract(byte[] lib) throws IOException {
        String hash;
        try {
            byte[] d = MessageDigest.getInstance("SHA-256").digest(lib);
            StringBuilder sb = new StringBuilder();
            for (int i = 0; i < 8; i++) sb.append(String.format("%02x", d[i] & 0xff));
            hash = sb.toString();
        } catch (NoSuchAlgorithmException e) {
            throw new IOException(e);
        }
        Path dir = Paths.get(System.getProperty("java.io.tmpdir"));
        Path target = dir.resolve("datalith-" + hash + "-" + libName());
        if (Files.isRegularFile(target) && java.util.Arrays.equals(Files.readAllBytes(target), lib))
            return target;
        Path tmp = Files.createTempFile(dir, "datalith-", ".tmp");
        try {
            Files.write(tmp, lib);
            Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING,
                    StandardCopyOption.ATOMIC_MOVE);
        } finally {
            Files.deleteIfExists(tmp);
        }
        return target;
    }
}
