import Foundation
import Testing
import TestSupport

/// `latent report` for every model kind, rendered in headless Chromium: the page loads without
/// console messages, holds the charts the command counted, and no chart is blank. Skipped where
/// Chromium is not installed, unless LATENT_REQUIRE_BROWSER=1 (CI sets it and installs Chromium).
/// Screenshots are kept in $LATENT_SCREENSHOTS (default: a temporary folder) for inspection.
@Suite(.serialized) struct ReportBrowserTests {
    let dir = TestData.temporaryDirectory()

    static let chromium: String? = ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"]
        .first { FileManager.default.isExecutableFile(atPath: $0) }

    static var screenshots: URL {
        let path = ProcessInfo.processInfo.environment["LATENT_SCREENSHOTS"] ?? FileManager.default.temporaryDirectory.appendingPathComponent("latent-report-screenshots").path
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return URL(fileURLWithPath: path)
    }

    /// Runs a program and returns its exit status, standard output and standard error.
    static func run(_ executable: String, _ arguments: [String]) throws -> (Int32, String, String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        // Read both pipes before waiting, so a large output cannot block the child.
        let errorData = Locked()
        let reader = Thread { errorData.set(err.fileHandleForReading.readDataToEndOfFile()) }
        reader.start()
        let output = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        while !errorData.done { usleep(1_000) }
        return (process.terminationStatus, String(decoding: output, as: UTF8.self), String(decoding: errorData.value, as: UTF8.self))
    }

    final class Locked: @unchecked Sendable {
        private let lock = NSLock()
        private var data = Data(), finished = false
        func set(_ d: Data) { lock.lock(); data = d; finished = true; lock.unlock() }
        var done: Bool { lock.lock(); defer { lock.unlock() }; return finished }
        var value: Data { lock.lock(); defer { lock.unlock() }; return data }
    }

    static func headless(_ arguments: [String]) throws -> (Int32, String, String) {
        try run(chromium!, ["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--enable-logging=stderr", "--v=0"] + arguments)
    }

    /// Fits a model, writes its report, and checks the page in the browser.
    func check(_ name: String, fit: [String], report: [String]) throws {
        let model = dir.appendingPathComponent("\(name).model").path, page = dir.appendingPathComponent("\(name).html").path
        let fitted = try CommandRunner.run(fit + ["--output", model, "--quiet"])
        #expect(fitted.status == 0, "\(name): \(fitted.standardError)")
        let r = try CommandRunner.run(["report", "--model", model, "--output", page, "--json"] + report)
        #expect(r.status == 0, "\(name): \(r.standardError)")
        let charts = try #require((try JSONSerialization.jsonObject(with: Data(r.standardOutput.utf8)) as? [String: Any])?["charts"] as? Int)
        let html = try String(contentsOfFile: page, encoding: .utf8)
        let svgs = html.components(separatedBy: "<svg class=\"chart\"").dropFirst().map { "<svg class=\"chart\"" + $0.components(separatedBy: "</svg>")[0] + "</svg>" }
        #expect(svgs.count == charts && charts >= 2, "\(name): \(svgs.count) charts in the page, \(charts) reported")
        // Self-contained: no scripts, and no address but the SVG namespace.
        let addresses = html.replacingOccurrences(of: "http://www.w3.org/2000/svg", with: "")
        #expect(!html.contains("<script") && !addresses.contains("http://") && !addresses.contains("https://") && !html.contains("@import"),
                "\(name): the page must be self-contained")
        guard Self.chromium != nil else { return }
        // The page loads: its DOM holds every chart, and nothing reached the console.
        let (status, dom, log) = try Self.headless(["--dump-dom", "file://\(page)"])
        #expect(status == 0, "\(name): chromium exited with \(status)")
        #expect(dom.components(separatedBy: "<svg class=\"chart\"").count - 1 == charts, "\(name): the loaded DOM lost charts")
        let console = log.split(separator: "\n").filter { $0.contains("CONSOLE") }
        #expect(console.isEmpty, "\(name): console messages \(console.prefix(3))")
        let whole = Self.screenshots.appendingPathComponent("\(name).png").path
        _ = try Self.headless(["--window-size=900,2400", "--screenshot=\(whole)", "file://\(page)"])
        #expect(FileManager.default.fileExists(atPath: whole), "\(name): no screenshot")
        // Each chart alone on a page with the report's style: some of its pixels differ from the background.
        let style = html.components(separatedBy: "<style>")[1].components(separatedBy: "</style>")[0]
        for (k, svg) in svgs.enumerated() {
            let single = dir.appendingPathComponent("\(name)-chart\(k).html").path
            try "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><style>\(style)</style></head><body>\(svg)</body></html>"
                .write(toFile: single, atomically: true, encoding: .utf8)
            let shot = Self.screenshots.appendingPathComponent("\(name)-chart\(k).png").path
            _ = try Self.headless(["--window-size=700,520", "--screenshot=\(shot)", "file://\(single)"])
            let (_, ink, _) = try Self.run("/usr/bin/env", ["python3", TestData.packageRoot.appendingPathComponent(".ci/png-ink").path, shot])
            let share = Double(ink.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
            #expect(share > 0.01, "\(name) chart \(k + 1): only \(share) of its pixels are drawn")
        }
    }

    @Test func everyReportKindRendersInChromium() throws {
        if Self.chromium == nil {
            #expect(ProcessInfo.processInfo.environment["LATENT_REQUIRE_BROWSER"] != "1", "Chromium is required here but not installed")
            print("report browser test: Chromium not installed; checked the pages without it")
        }
        let faithful = TestData.path("faithful.csv"), nile = TestData.path("nile.csv"), mnist = TestData.path("mnist5k-train-images.idx3-ubyte")
        try check("gmm", fit: ["fit", "gmm", "--data", faithful, "--components", "2"], report: ["--data", faithful])
        try check("select", fit: ["select", "gmm", "--data", faithful, "--components", "1-4", "--covariance", "full,diag"], report: ["--data", faithful])
        let selected = try String(contentsOfFile: dir.appendingPathComponent("select.html").path, encoding: .utf8)
        #expect(selected.contains("BIC and ICL over the number of components"), "a model from select shows its BIC and ICL curves")
        try check("bayesian-gmm", fit: ["fit", "bayesian-gmm", "--data", TestData.path("iris.csv"), "--components", "5"], report: ["--data", TestData.path("iris.csv")])
        try check("fa", fit: ["fit", "fa", "--data", TestData.path("bfi.csv"), "--factors", "3"], report: ["--data", TestData.path("bfi.csv")])
        try check("hmm", fit: ["fit", "hmm", "--data", nile, "--columns", "flow", "--states", "2"], report: ["--data", nile])
        try check("lds", fit: ["fit", "lds", "--data", nile, "--columns", "flow", "--latent", "1", "--transition", "1", "--observation", "1",
                               "--fix", "transition,observation,offset", "--initial-state", "diffuse"], report: ["--data", nile])
        try check("vae", fit: ["fit", "vae", "--data", mnist, "--binarize", "--latent", "2", "--hidden", "64", "--epochs", "2"],
                  report: ["--data", mnist, "--labels", TestData.path("mnist5k-train-labels.idx1-ubyte")])
        try check("rbm", fit: ["fit", "rbm", "--data", mnist, "--binarize", "--hidden", "16", "--epochs", "2"], report: ["--data", mnist])
    }

    @Test func labelsThatDoNotFitTheDataAreRefusedWithTheReason() throws {
        let model = dir.appendingPathComponent("fa-iris.json").path, page = dir.appendingPathComponent("iris.html").path
        let iris = TestData.path("iris.csv")
        #expect(try CommandRunner.run(["fit", "fa", "--data", iris, "--factors", "2", "--output", model, "--quiet"]).status == 0)
        let short = dir.appendingPathComponent("short.csv").path
        try "label\n0\n1\n".write(toFile: short, atomically: true, encoding: .utf8)
        let words = dir.appendingPathComponent("words.csv").path
        try "species,x\nsetosa,1\nvirginica,2\n".write(toFile: words, atomically: true, encoding: .utf8)
        for (labels, reason) in [(short, "2 labels for the 150 rows"), (iris, "whole numbers"), (words, "holds text")] {
            let r = try CommandRunner.run(["report", "--model", model, "--data", iris, "--labels", labels, "--output", page])
            #expect(r.status != 0 && r.standardError.contains(reason), "\(labels): \(r.standardError)")
            #expect(!FileManager.default.fileExists(atPath: page), "a refused report must write nothing")
        }
    }
}
