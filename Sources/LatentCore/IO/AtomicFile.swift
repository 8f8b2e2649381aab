import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Writes files so that readers see either the old content or the new, never a partial file, and
/// so that nothing but the named output changes.
///
/// - A regular file (or a new path) is replaced by rename from a temporary file in the same
///   directory. On Linux the temporary file is anonymous (`O_TMPFILE`) until it is complete, so a
///   write killed midway leaves nothing behind; elsewhere it is `.NAME.PID.tmp`, and such files left
///   by processes that no longer run are removed on the next write of the same name.
/// - A symbolic link is written through: its target is replaced, the link stays.
/// - A FIFO or a character device (`/dev/stdout`, `/dev/null`) is written directly, never replaced.
/// - A directory, socket or block device is refused with a message.
/// - The replaced file keeps its permissions.
public enum AtomicFile {
    /// Writes `data` to `path` as described above.
    /// - Throws: ``DataError/unwritable(path:reason:)``; the existing file is then left untouched.
    public static func write(_ data: Data, to path: String) throws {
        let target = OutputTarget.resolved(path)
        var info = stat()
        let exists = stat(target, &info) == 0
        if exists {
            switch info.st_mode & S_IFMT {
            case S_IFREG: break
            case S_IFIFO, S_IFCHR: return try writeDirectly(data, to: target, reportedAs: path)
            case S_IFDIR: throw DataError.unwritable(path: path, reason: "it is a directory; give a file name")
            default: throw DataError.unwritable(path: path, reason: "it is not a regular file, a FIFO or a character device")
            }
        }
        let mode = exists ? mode_t(info.st_mode & 0o7777) : 0o644
        let url = URL(fileURLWithPath: target)
        let directory = url.deletingLastPathComponent().path
        let name = url.lastPathComponent
        removeStaleTemporaries(of: name, in: directory)
        let temporary = "\(directory)/.\(name).\(getpid()).tmp"
        do {
            if !(try writeAnonymously(data, directory: directory, linkingTo: temporary, mode: mode)) {
                try writeNamed(data, to: temporary, mode: mode)
            }
            guard rename(temporary, target) == 0 else { throw posixError("rename") }
        } catch {
            unlink(temporary)
            throw DataError.unwritable(path: path, reason: "\(error)")
        }
    }

    /// Writes `text` as UTF-8 (see ``write(_:to:)-(Data,_)``).
    public static func write(_ text: String, to path: String) throws {
        try write(Data(text.utf8), to: path)
    }

    /// Writes to a FIFO or device as it is.
    private static func writeDirectly(_ data: Data, to target: String, reportedAs path: String) throws {
        let fd = open(target, O_WRONLY)
        guard fd >= 0 else { throw DataError.unwritable(path: path, reason: String(cString: strerror(errno))) }
        defer { close(fd) }
        do { try writeAll(data, to: fd) } catch { throw DataError.unwritable(path: path, reason: "\(error)") }
    }

    /// Linux: an `O_TMPFILE` file in `directory`, written, synced and then linked as `name`.
    /// False when the file system does not support anonymous files.
    private static func writeAnonymously(_ data: Data, directory: String, linkingTo name: String, mode: mode_t) throws -> Bool {
        #if os(Linux)
        // O_TMPFILE is (__O_TMPFILE | O_DIRECTORY); Swift does not import the composite macro.
        let oTmpfile: Int32 = 0o20000000 | O_DIRECTORY
        let fd = open(directory, oTmpfile | O_WRONLY, mode)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        try writeAll(data, to: fd)
        fchmod(fd, mode)
        guard fsync(fd) == 0 else { throw posixError("fsync") }
        unlink(name)
        guard linkat(AT_FDCWD, "/proc/self/fd/\(fd)", AT_FDCWD, name, AT_SYMLINK_FOLLOW) == 0 else { throw posixError("linkat") }
        return true
        #else
        return false
        #endif
    }

    /// A named temporary file, written and synced.
    private static func writeNamed(_ data: Data, to name: String, mode: mode_t) throws {
        let fd = open(name, O_WRONLY | O_CREAT | O_TRUNC, mode)
        guard fd >= 0 else { throw posixError("open") }
        defer { close(fd) }
        try writeAll(data, to: fd)
        fchmod(fd, mode)
        guard fsync(fd) == 0 else { throw posixError("fsync") }
    }

    private static func writeAll(_ data: Data, to fd: Int32) throws {
        try data.withUnsafeBytes { (bytes: UnsafeRawBufferPointer) in
            var offset = 0
            while offset < bytes.count {
                #if canImport(Glibc)
                let n = Glibc.write(fd, bytes.start + offset, bytes.count - offset)
                #else
                let n = Darwin.write(fd, bytes.start + offset, bytes.count - offset)
                #endif
                if n < 0 {
                    if errno == EINTR { continue }
                    throw posixError("write")
                }
                offset += n
            }
        }
    }

    /// Removes `.NAME.PID.tmp` files in `directory` whose process no longer runs.
    private static func removeStaleTemporaries(of name: String, in directory: String) {
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: directory) else { return }
        let prefix = ".\(name).", suffix = ".tmp"
        for entry in entries where entry.hasPrefix(prefix) && entry.hasSuffix(suffix) {
            let middle = entry.dropFirst(prefix.count).dropLast(suffix.count)
            guard let pid = Int32(middle), pid > 0 else { continue }
            if kill(pid, 0) != 0 && errno == ESRCH { unlink("\(directory)/\(entry)") }
        }
    }

    private static func posixError(_ call: String) -> SystemCallError {
        SystemCallError(call: call, message: String(cString: strerror(errno)))
    }
}

/// A failed system call, with the system's message.
struct SystemCallError: Error, CustomStringConvertible {
    let call: String
    let message: String
    var description: String { "\(call): \(message)" }
}

/// Checks on where a command will write, made before any work starts.
public enum OutputTarget {
    /// Refuses an output that could not be written or that is one of the inputs: the directory
    /// must exist and be writable, the path must not be a directory, and it must not be the same
    /// file (device and inode, through symbolic links) as any of `inputs`.
    /// - Throws: ``DataError/unwritable(path:reason:)`` saying what to do.
    public static func check(_ path: String, inputs: [(role: String, path: String)]) throws {
        guard !path.isEmpty else { throw DataError.unwritable(path: path, reason: "the output path is empty") }
        let target = resolved(path)
        var info = stat()
        if stat(target, &info) == 0 {
            if info.st_mode & S_IFMT == S_IFDIR { throw DataError.unwritable(path: path, reason: "it is a directory; give a file name") }
            for input in inputs {
                var other = stat()
                if stat(input.path, &other) == 0, other.st_dev == info.st_dev, other.st_ino == info.st_ino {
                    throw DataError.unwritable(path: path, reason: "it is the same file as the \(input.role) (\(input.path)); writing it would destroy the \(input.role). Choose another output path")
                }
            }
            if info.st_mode & S_IFMT != S_IFREG { return }   // FIFOs and devices are written directly
        }
        let directory = URL(fileURLWithPath: target).deletingLastPathComponent().path
        var directoryInfo = stat()
        guard stat(directory, &directoryInfo) == 0, directoryInfo.st_mode & S_IFMT == S_IFDIR else {
            throw DataError.unwritable(path: path, reason: "the directory \(directory) does not exist")
        }
        guard access(directory, W_OK) == 0 else {
            throw DataError.unwritable(path: path, reason: "the directory \(directory) is not writable")
        }
    }

    /// `path` with symbolic links followed to their final target (which need not exist yet).
    static func resolved(_ path: String) -> String {
        var current = URL(fileURLWithPath: path).standardizedFileURL.path
        for _ in 0..<40 {
            guard let destination = try? FileManager.default.destinationOfSymbolicLink(atPath: current) else { return current }
            current = destination.hasPrefix("/")
                ? destination
                : URL(fileURLWithPath: current).deletingLastPathComponent().appendingPathComponent(destination).standardizedFileURL.path
        }
        return current
    }
}
