import Foundation
import Testing
import Latent
import TestSupport

/// `latent statistics`, `merge` and `maximize`: EM driven from outside, one part of the data at a time.
@Suite(.serialized) struct DistributedEMCLITests {
    let dir = TestData.temporaryDirectory()
    func path(_ name: String) -> String { dir.appendingPathComponent(name).path }

    func parameters(_ file: String, of family: String = "gaussianMixture") throws -> [Double] {
        let object = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: file)))
        let mixture = try #require((object as? [String: Any])?[family])
        func numbers(_ x: Any) -> [Double] {
            if let d = x as? [String: Any] { return d.keys.sorted().flatMap { numbers(d[$0]!) } }
            if let a = x as? [Any] { return a.flatMap(numbers) }
            return (x as? Double).map { [$0] } ?? (x as? Int).map { [Double($0)] } ?? []
        }
        return numbers(mixture)
    }

    @Test func partsMergedInAnyOrderGiveTheStepOfTheWholeData() throws {
        let lines = try String(contentsOfFile: TestData.path("faithful.csv"), encoding: .utf8).split(separator: "\n")
        let header = lines[0], body = Array(lines.dropFirst())
        for (i, range) in [0..<90, 90..<200, 200..<body.count].enumerated() {
            try ([header] + body[range]).joined(separator: "\n").write(toFile: path("part\(i).csv"), atomically: true, encoding: .utf8)
        }
        var r = try CommandRunner.run(["fit", "gmm", "--data", TestData.path("faithful.csv"), "--components", "3", "--covariance", "tied",
                                       "--max-iterations", "4", "--tolerance", "0", "--seed", "2", "--output", path("m0.json"), "--quiet"])
        #expect(r.status == 0, "\(r.standardError)")
        for i in 0..<3 {
            r = try CommandRunner.run(["statistics", "--model", path("m0.json"), "--data", path("part\(i).csv"), "--output", path("s\(i).json"), "--json"])
            #expect(r.status == 0, "\(r.standardError)")
        }
        r = try CommandRunner.run(["merge", path("s2.json"), path("s0.json"), "--output", path("s20.json")])
        #expect(r.status == 0, "\(r.standardError)")
        r = try CommandRunner.run(["merge", path("s1.json"), path("s20.json"), "--output", path("all.json"), "--json"])
        #expect(r.status == 0 && r.standardOutput.contains("\"n\": 272"), "\(r.standardError)")
        r = try CommandRunner.run(["maximize", "--model", path("m0.json"), "--statistics", path("all.json"), "--output", path("m1.json"), "--json"])
        #expect(r.status == 0, "\(r.standardError)")
        r = try CommandRunner.run(["fit", "gmm", "--data", TestData.path("faithful.csv"), "--components", "3", "--covariance", "tied",
                                   "--warm-start", path("m0.json"), "--max-iterations", "1", "--tolerance", "0", "--output", path("step.json"), "--quiet"])
        #expect(r.status == 0, "\(r.standardError)")
        let merged = try parameters(path("m1.json")), step = try parameters(path("step.json"))
        #expect(merged.count == step.count && merged.count > 10)
        for (a, b) in zip(merged, step) { #expect(abs(a - b) <= 1e-9 * max(1, abs(b))) }

        // Statistics of another model, a model file given as statistics: refused, naming the file.
        r = try CommandRunner.run(["maximize", "--model", path("m1.json"), "--statistics", path("all.json"), "--output", path("m2.json")])
        #expect(r.status != 0 && r.standardError.contains("all.json") && r.standardError.contains("another model"))
        r = try CommandRunner.run(["merge", path("s0.json"), path("m0.json"), "--output", path("bad.json")])
        #expect(r.status != 0 && r.standardError.contains("m0.json") && r.standardError.contains("not a Latent statistics file"))
        #expect(!FileManager.default.fileExists(atPath: path("m2.json")) && !FileManager.default.fileExists(atPath: path("bad.json")))
    }

    /// Rows with missing values: a mixture's statistics integrate them out, so that parts merged
    /// give the in-memory EM step; `fit gmm --stream` reads the CSV file with its empty cells and
    /// takes the same step.
    @Test func partsWithMissingValuesGiveTheStepOfTheWholeData() throws {
        let file = TestData.path("airquality.csv")
        let lines = try String(contentsOfFile: file, encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false)
            .filter { !$0.isEmpty }
        let header = lines[0], body = Array(lines.dropFirst())
        #expect(body.contains { $0.contains(",,") || $0.hasPrefix(",") })
        for (i, range) in [0..<60, 60..<body.count].enumerated() {
            try ([header] + body[range]).joined(separator: "\n").write(toFile: path("air\(i).csv"), atomically: true, encoding: .utf8)
        }
        var r = try CommandRunner.run(["fit", "gmm", "--data", file, "--components", "2", "--covariance", "diag",
                                       "--max-iterations", "3", "--tolerance", "0", "--output", path("a0.json"), "--quiet"])
        #expect(r.status == 0, "\(r.standardError)")
        for i in 0..<2 {
            r = try CommandRunner.run(["statistics", "--model", path("a0.json"), "--data", path("air\(i).csv"), "--output", path("as\(i).json"), "--quiet"])
            #expect(r.status == 0, "\(r.standardError)")
        }
        r = try CommandRunner.run(["merge", path("as1.json"), path("as0.json"), "--output", path("aall.json"), "--json"])
        #expect(r.status == 0 && r.standardOutput.contains("\"n\": 153"), "\(r.standardError)")
        r = try CommandRunner.run(["maximize", "--model", path("a0.json"), "--statistics", path("aall.json"), "--output", path("a1.json"), "--quiet"])
        #expect(r.status == 0, "\(r.standardError)")
        let step = ["fit", "gmm", "--data", file, "--components", "2", "--covariance", "diag", "--warm-start", path("a0.json"),
                    "--max-iterations", "1", "--tolerance", "0", "--quiet"]
        r = try CommandRunner.run(step + ["--output", path("astep.json")])
        #expect(r.status == 0, "\(r.standardError)")
        r = try CommandRunner.run(step + ["--stream", "--block-rows", "50", "--output", path("astream.json")])
        #expect(r.status == 0, "\(r.standardError)")
        for step in ["astep.json", "astream.json"] {   // a warm start makes no short runs, and says so
            #expect(try String(contentsOfFile: path(step), encoding: .utf8).contains("\"shortRuns\" : \"0\""), "\(step)")
        }
        let merged = try parameters(path("a1.json")), inMemory = try parameters(path("astep.json")), streamed = try parameters(path("astream.json"))
        #expect(merged.count == inMemory.count && merged.count == streamed.count && merged.count > 10)
        for (a, b) in zip(merged, inMemory) { #expect(abs(a - b) <= 1e-9 * max(1, abs(b))) }
        for (a, b) in zip(streamed, inMemory) { #expect(abs(a - b) <= 1e-9 * max(1, abs(b))) }
    }

    /// Factor analysis from outside: the moments of three parts, merged, give the fit of the whole
    /// data in one `maximize`; statistics of a mixture and of a factor model do not mix.
    @Test func factorModelMomentsMergedGiveTheWholeFit() throws {
        let file = TestData.path("reference/wine13.csv")
        let lines = try String(contentsOfFile: file, encoding: .utf8).split(separator: "\n")
        let header = lines[0], body = Array(lines.dropFirst())
        for (i, range) in [0..<50, 50..<51, 51..<body.count].enumerated() {
            try ([header] + body[range]).joined(separator: "\n").write(toFile: path("wine\(i).csv"), atomically: true, encoding: .utf8)
        }
        var r = try CommandRunner.run(["fit", "fa", "--data", path("wine0.csv"), "--factors", "2", "--output", path("fa0.json"), "--quiet"])
        #expect(r.status == 0, "\(r.standardError)")
        for i in 0..<3 {
            r = try CommandRunner.run(["statistics", "--model", path("fa0.json"), "--data", path("wine\(i).csv"), "--output", path("fs\(i).json"), "--quiet"])
            #expect(r.status == 0, "\(r.standardError)")
        }
        r = try CommandRunner.run(["merge", path("fs2.json"), path("fs0.json"), path("fs1.json"), "--output", path("fall.json"), "--json"])
        #expect(r.status == 0 && r.standardOutput.contains("\"n\": 178"), "\(r.standardError)")
        r = try CommandRunner.run(["maximize", "--model", path("fa0.json"), "--statistics", path("fall.json"), "--output", path("fa1.json"), "--json"])
        #expect(r.status == 0, "\(r.standardError)")
        let merged = try #require(JSONSerialization.jsonObject(with: Data(r.standardOutput.utf8)) as? [String: Any])
        r = try CommandRunner.run(["fit", "fa", "--data", file, "--factors", "2", "--output", path("fa-whole.json"), "--json", "--quiet"])
        let whole = try #require(JSONSerialization.jsonObject(with: Data(r.standardOutput.utf8)) as? [String: Any])
        let a = try #require(merged["logLikelihood"] as? Double), b = try #require(whole["logLikelihood"] as? Double)
        #expect(abs(a - b) <= 1e-9 * abs(b), "merged \(a), whole \(b)")
        let scored = try CommandRunner.run(["score", "--model", path("fa1.json"), "--data", file, "--json"]).standardOutput
        let s = try #require(JSONSerialization.jsonObject(with: Data(scored.utf8)) as? [String: Any])
        #expect(abs((s["logLikelihood"] as? Double ?? 0) - a) <= 1e-9 * abs(a))

        r = try CommandRunner.run(["fit", "gmm", "--data", file, "--components", "2", "--output", path("g.json"), "--quiet"])
        r = try CommandRunner.run(["statistics", "--model", path("g.json"), "--data", path("wine0.csv"), "--output", path("gs.json"), "--quiet"])
        #expect(r.status == 0, "\(r.standardError)")
        r = try CommandRunner.run(["merge", path("fs0.json"), path("gs.json"), "--output", path("mixed.json")])
        #expect(r.status != 0 && r.standardError.contains("gs.json") && r.standardError.contains("gmm"), "\(r.standardError)")
        r = try CommandRunner.run(["maximize", "--model", path("g.json"), "--statistics", path("fall.json"), "--output", path("g1.json")])
        #expect(r.status != 0 && r.standardError.contains("fall.json"), "\(r.standardError)")
        #expect(!FileManager.default.fileExists(atPath: path("mixed.json")) && !FileManager.default.fileExists(atPath: path("g1.json")))
    }

    /// Factor models with missing values from outside: each part's moments per missingness pattern
    /// (one part complete), merged in another order, give in one `maximize` the in-memory fit of the
    /// whole bfi file, which integrates the missing values out.
    @Test func factorModelPatternsMergedGiveTheWholeFitWithMissingValues() throws {
        let file = TestData.path("bfi.csv")
        let lines = try String(contentsOfFile: file, encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false)
        let header = lines[0], body = lines.dropFirst().filter { !$0.isEmpty }
        let complete = body.filter { !$0.split(separator: ",", omittingEmptySubsequences: false).contains("") }
        let incomplete = body.filter { $0.split(separator: ",", omittingEmptySubsequences: false).contains("") }
        #expect(!incomplete.isEmpty)
        let parts = [Array(complete), Array(incomplete.prefix(150)), Array(incomplete.dropFirst(150))]
        for (i, rows) in parts.enumerated() {
            try ([header] + rows).joined(separator: "\n").write(toFile: path("bfi\(i).csv"), atomically: true, encoding: .utf8)
        }
        var r = try CommandRunner.run(["fit", "fa", "--data", file, "--factors", "3", "--output", path("bfa.json"), "--json", "--quiet"])
        #expect(r.status == 0, "\(r.standardError)")
        let whole = try #require(JSONSerialization.jsonObject(with: Data(r.standardOutput.utf8)) as? [String: Any])
        for i in 0..<3 {
            r = try CommandRunner.run(["statistics", "--model", path("bfa.json"), "--data", path("bfi\(i).csv"), "--output", path("bs\(i).json"), "--json", "--quiet"])
            #expect(r.status == 0, "\(r.standardError)")
            #expect(r.standardOutput.contains("\"patterns\"") == (i > 0), "\(r.standardOutput)")
        }
        r = try CommandRunner.run(["merge", path("bs0.json"), path("bs2.json"), path("bs1.json"), "--output", path("ball.json"), "--json"])
        #expect(r.status == 0 && r.standardOutput.contains("\"n\": 2800"), "\(r.standardError)")
        r = try CommandRunner.run(["maximize", "--model", path("bfa.json"), "--statistics", path("ball.json"), "--output", path("bfa1.json"), "--json"])
        #expect(r.status == 0, "\(r.standardError)")
        let merged = try #require(JSONSerialization.jsonObject(with: Data(r.standardOutput.utf8)) as? [String: Any])
        let a = try #require(merged["logLikelihood"] as? Double), b = try #require(whole["logLikelihood"] as? Double)
        #expect(abs(a - b) <= 1e-9 * abs(b), "merged \(a), whole \(b)")
        // Probabilistic PCA reads the same files.
        r = try CommandRunner.run(["fit", "ppca", "--data", file, "--factors", "2", "--output", path("bpca.json"), "--json", "--quiet"])
        let wholePCA = try #require(JSONSerialization.jsonObject(with: Data(r.standardOutput.utf8)) as? [String: Any])
        r = try CommandRunner.run(["maximize", "--model", path("bpca.json"), "--statistics", path("ball.json"), "--output", path("bpca1.json"), "--json"])
        #expect(r.status == 0, "\(r.standardError)")
        let pca = try #require(JSONSerialization.jsonObject(with: Data(r.standardOutput.utf8)) as? [String: Any])
        let c = try #require(pca["logLikelihood"] as? Double), d = try #require(wholePCA["logLikelihood"] as? Double)
        #expect(abs(c - d) <= 1e-9 * abs(d), "merged \(c), whole \(d)")
    }

    /// Baum-Welch from outside: sequences dealt to three parts (each sequence whole), their
    /// statistics merged, give the in-memory Baum-Welch step; parts of another emission refused.
    @Test func hmmPartsMergedGiveTheBaumWelchStepOfTheWholeData() throws {
        let lines = try String(contentsOfFile: TestData.path("geyser.csv"), encoding: .utf8).split(separator: "\n")
        let body = Array(lines.dropFirst())
        // Sequences of 30 eruptions, numbered in an `id` column.
        let rows = body.enumerated().map { "\($0.offset / 30),\($0.element)" }
        try (["id,waiting,duration"] + rows).joined(separator: "\n").write(toFile: path("seq.csv"), atomically: true, encoding: .utf8)
        for (i, range) in [0..<90, 90..<210, 210..<rows.count].enumerated() {
            try (["id,waiting,duration"] + rows[range]).joined(separator: "\n").write(toFile: path("seq\(i).csv"), atomically: true, encoding: .utf8)
        }
        var r = try CommandRunner.run(["fit", "hmm", "--data", path("seq.csv"), "--sequence-column", "id", "--states", "3", "--covariance", "diag",
                                       "--max-iterations", "3", "--tolerance", "0", "--restarts", "1", "--short-runs", "1", "--split-merge-trials", "0",
                                       "--seed", "2", "--output", path("h0.json"), "--quiet"])
        #expect(r.status == 0, "\(r.standardError)")
        for i in 0..<3 {
            r = try CommandRunner.run(["statistics", "--model", path("h0.json"), "--data", path("seq\(i).csv"), "--output", path("hs\(i).json"), "--json"])
            #expect(r.status == 0, "\(r.standardError)")
        }
        r = try CommandRunner.run(["merge", path("hs1.json"), path("hs2.json"), path("hs0.json"), "--output", path("hall.json"), "--json"])
        #expect(r.status == 0 && r.standardOutput.contains("\"n\": 299") && r.standardOutput.contains("\"sequences\": 10"), "\(r.standardOutput) \(r.standardError)")
        r = try CommandRunner.run(["maximize", "--model", path("h0.json"), "--statistics", path("hall.json"), "--output", path("h1.json"), "--json"])
        #expect(r.status == 0, "\(r.standardError)")
        r = try CommandRunner.run(["fit", "hmm", "--data", path("seq.csv"), "--sequence-column", "id", "--states", "3", "--covariance", "diag",
                                   "--warm-start", path("h0.json"), "--max-iterations", "1", "--tolerance", "0", "--output", path("hstep.json"), "--quiet"])
        #expect(r.status == 0, "\(r.standardError)")
        let merged = try CommandRunner.run(["score", "--model", path("h1.json"), "--data", path("seq.csv"), "--json"]).standardOutput
        let step = try CommandRunner.run(["score", "--model", path("hstep.json"), "--data", path("seq.csv"), "--json"]).standardOutput
        let a = try #require((JSONSerialization.jsonObject(with: Data(merged.utf8)) as? [String: Any])?["logLikelihood"] as? Double)
        let b = try #require((JSONSerialization.jsonObject(with: Data(step.utf8)) as? [String: Any])?["logLikelihood"] as? Double)
        // (maximize keeps the fit's sequence column, so `score` splits the sequences as the fit did.)
        #expect(abs(a - b) <= 1e-9 * abs(b), "merged step \(a), in-memory step \(b)")

        // A Poisson model's statistics do not merge with a Gaussian one's, nor maximise it.
        try (["id,count"] + (0..<40).map { "\($0 / 10),\($0 % 7)" }).joined(separator: "\n").write(toFile: path("counts.csv"), atomically: true, encoding: .utf8)
        r = try CommandRunner.run(["fit", "hmm", "--data", path("counts.csv"), "--sequence-column", "id", "--states", "2", "--emission", "poisson",
                                   "--output", path("p.json"), "--quiet"])
        r = try CommandRunner.run(["statistics", "--model", path("p.json"), "--data", path("counts.csv"), "--output", path("ps.json"), "--quiet"])
        #expect(r.status == 0, "\(r.standardError)")
        r = try CommandRunner.run(["merge", path("hs0.json"), path("ps.json"), "--output", path("hp.json")])
        #expect(r.status != 0 && r.standardError.contains("ps.json"), "\(r.standardError)")
        r = try CommandRunner.run(["maximize", "--model", path("p.json"), "--statistics", path("hall.json"), "--output", path("p1.json")])
        #expect(r.status != 0 && r.standardError.contains("hall.json"), "\(r.standardError)")
    }

    @Test func stateSpacePartsMergedGiveTheEMStepOfTheWholeData() throws {
        let lines = try String(contentsOfFile: TestData.path("geyser.csv"), encoding: .utf8).split(separator: "\n")
        // Sequences of 30 eruptions, numbered in an `id` column; a few values missing.
        let rows = Array(lines.dropFirst()).enumerated().map { i, line in
            "\(i / 30),\(i % 17 == 5 ? "" : String(line.split(separator: ",")[0])),\(line.split(separator: ",")[1])"
        }
        try (["id,waiting,duration"] + rows).joined(separator: "\n").write(toFile: path("lds.csv"), atomically: true, encoding: .utf8)
        for (i, range) in [0..<120, 120..<180, 180..<rows.count].enumerated() {
            try (["id,waiting,duration"] + rows[range]).joined(separator: "\n").write(toFile: path("lds\(i).csv"), atomically: true, encoding: .utf8)
        }
        var r = try CommandRunner.run(["fit", "lds", "--data", path("lds.csv"), "--sequence-column", "id", "--latent", "1",
                                       "--max-iterations", "5", "--tolerance", "0", "--output", path("l0.json"), "--quiet"])
        #expect(r.status == 0, "\(r.standardError)")
        r = try CommandRunner.run(["statistics", "--model", path("l0.json"), "--data", path("lds.csv"), "--output", path("lwhole.json"), "--json"])
        #expect(r.status == 0 && r.standardOutput.contains("\"sequences\": 10"), "\(r.standardOutput) \(r.standardError)")
        for i in 0..<3 {
            r = try CommandRunner.run(["statistics", "--model", path("l0.json"), "--data", path("lds\(i).csv"), "--output", path("ls\(i).json"), "--quiet"])
            #expect(r.status == 0, "\(r.standardError)")
        }
        r = try CommandRunner.run(["merge", path("ls2.json"), path("ls0.json"), path("ls1.json"), "--output", path("lall.json"), "--json"])
        #expect(r.status == 0 && r.standardOutput.contains("\"n\": 299") && r.standardOutput.contains("\"sequences\": 10"), "\(r.standardOutput) \(r.standardError)")
        for (statistics, model) in [("lall.json", "l1.json"), ("lwhole.json", "lw.json")] {
            r = try CommandRunner.run(["maximize", "--model", path("l0.json"), "--statistics", path(statistics), "--output", path(model), "--json"])
            #expect(r.status == 0, "\(r.standardError)")
        }
        let merged = try parameters(path("l1.json"), of: "linearDynamical"), whole = try parameters(path("lw.json"), of: "linearDynamical")
        let start = try parameters(path("l0.json"), of: "linearDynamical")
        #expect(merged.count == whole.count && !merged.isEmpty)
        #expect(zip(merged, whole).allSatisfy { abs($0 - $1) <= 1e-9 * max(1, abs($1)) })
        #expect(zip(merged, start).contains { abs($0 - $1) > 1e-6 * max(1, abs($1)) }, "the M-step changed nothing")
        // One EM iteration of a fit warm-started from the same model is the same step.
        r = try CommandRunner.run(["fit", "lds", "--data", path("lds.csv"), "--sequence-column", "id", "--latent", "1", "--warm-start", path("l0.json"),
                                   "--max-iterations", "1", "--tolerance", "0", "--output", path("lstep.json"), "--quiet"])
        #expect(r.status == 0, "\(r.standardError)")
        let step = try parameters(path("lstep.json"), of: "linearDynamical")
        #expect(zip(step, whole).allSatisfy { abs($0 - $1) <= 1e-9 * max(1, abs($1)) }, "warm-started step \(step), maximize \(whole)")
        r = try CommandRunner.run(["fit", "lds", "--data", path("lds.csv"), "--latent", "2", "--warm-start", path("l0.json"), "--output", path("bad.json")])
        #expect(r.status != 0 && r.standardError.contains("l0.json"), "\(r.standardError)")

        // Statistics of another family neither merge with these nor maximise this model.
        r = try CommandRunner.run(["fit", "gmm", "--data", TestData.path("geyser.csv"), "--components", "2", "--output", path("g.json"), "--quiet"])
        r = try CommandRunner.run(["statistics", "--model", path("g.json"), "--data", TestData.path("geyser.csv"), "--output", path("gs.json"), "--quiet"])
        #expect(r.status == 0, "\(r.standardError)")
        r = try CommandRunner.run(["merge", path("lall.json"), path("gs.json"), "--output", path("bad.json")])
        #expect(r.status != 0 && r.standardError.contains("gs.json"), "\(r.standardError)")
        r = try CommandRunner.run(["maximize", "--model", path("l0.json"), "--statistics", path("gs.json"), "--output", path("bad.json")])
        #expect(r.status != 0 && r.standardError.contains("gs.json"), "\(r.standardError)")
        // Nor do statistics of another system.
        r = try CommandRunner.run(["maximize", "--model", path("l1.json"), "--statistics", path("lall.json"), "--output", path("bad.json")])
        #expect(r.status != 0 && r.standardError.contains("another model"), "\(r.standardError)")
        // A damaged file (an array cut short) is refused by merge with its name, not read past its end.
        for (file, key) in [("lall.json", "observedSums"), ("gs.json", "counts")] {
            var object = try #require(JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path(file)))) as? [String: Any])
            let family = object.keys.first { $0 != "format" && $0 != "columns" }!
            var inner = try #require(object[family] as? [String: Any])
            inner[key] = Array((inner[key] as? [Double] ?? []).dropLast())
            object[family] = inner
            try JSONSerialization.data(withJSONObject: object).write(to: URL(fileURLWithPath: path("cut-" + file)))
            r = try CommandRunner.run(["merge", path(file), path("cut-" + file), "--output", path("bad.json")])
            #expect(r.status != 0 && r.standardError.contains("cut-" + file) && !r.standardError.contains("Fatal"), "\(r.standardError)")
        }
    }

    @Test func variationalMixturePartsMergedGiveOneSweepOfTheWholeData() throws {
        let lines = try String(contentsOfFile: TestData.path("faithful.csv"), encoding: .utf8).split(separator: "\n")
        let header = lines[0], body = Array(lines.dropFirst())
        for (i, range) in [0..<100, 100..<130, 130..<body.count].enumerated() {
            try ([header] + body[range]).joined(separator: "\n").write(toFile: path("vb\(i).csv"), atomically: true, encoding: .utf8)
        }
        var r = try CommandRunner.run(["fit", "bayesian-gmm", "--data", TestData.path("faithful.csv"), "--components", "5", "--covariance", "tied",
                                       "--max-iterations", "3", "--tolerance", "0", "--seed", "4", "--output", path("v0.json"), "--quiet"])
        #expect(r.status == 0, "\(r.standardError)")
        r = try CommandRunner.run(["statistics", "--model", path("v0.json"), "--data", TestData.path("faithful.csv"), "--output", path("vwhole.json"), "--json"])
        #expect(r.status == 0 && r.standardOutput.contains("lowerBound"), "\(r.standardOutput) \(r.standardError)")
        for i in 0..<3 {
            r = try CommandRunner.run(["statistics", "--model", path("v0.json"), "--data", path("vb\(i).csv"), "--output", path("vs\(i).json"), "--quiet"])
            #expect(r.status == 0, "\(r.standardError)")
        }
        r = try CommandRunner.run(["merge", path("vs1.json"), path("vs2.json"), path("vs0.json"), "--output", path("vall.json"), "--json"])
        #expect(r.status == 0 && r.standardOutput.contains("\"n\": 272"), "\(r.standardOutput) \(r.standardError)")
        for (statistics, model) in [("vall.json", "v1.json"), ("vwhole.json", "vw.json")] {
            r = try CommandRunner.run(["maximize", "--model", path("v0.json"), "--statistics", path(statistics), "--output", path(model), "--json"])
            #expect(r.status == 0 && r.standardOutput.contains("lowerBound"), "\(r.standardOutput) \(r.standardError)")
        }
        let merged = try parameters(path("v1.json"), of: "bayesianMixture"), whole = try parameters(path("vw.json"), of: "bayesianMixture")
        let start = try parameters(path("v0.json"), of: "bayesianMixture")
        #expect(merged.count == whole.count && !merged.isEmpty)
        #expect(zip(merged, whole).allSatisfy { abs($0 - $1) <= 1e-9 * max(1, abs($1)) })
        #expect(zip(merged, start).contains { abs($0 - $1) > 1e-6 * max(1, abs($1)) }, "the update changed nothing")
        // One sweep of a fit warm-started from the same posterior is the same update.
        r = try CommandRunner.run(["fit", "bayesian-gmm", "--data", TestData.path("faithful.csv"), "--components", "5", "--covariance", "tied",
                                   "--warm-start", path("v0.json"), "--max-iterations", "1", "--tolerance", "0", "--output", path("vstep.json"), "--quiet"])
        #expect(r.status == 0, "\(r.standardError)")
        let step = try parameters(path("vstep.json"), of: "bayesianMixture")
        #expect(zip(step, whole).allSatisfy { abs($0 - $1) <= 1e-9 * max(1, abs($1)) }, "warm-started sweep \(step), maximize \(whole)")
        r = try CommandRunner.run(["fit", "bayesian-gmm", "--data", TestData.path("faithful.csv"), "--components", "4", "--covariance", "tied",
                                   "--warm-start", path("v0.json"), "--output", path("bad.json")])
        #expect(r.status != 0 && r.standardError.contains("v0.json"), "\(r.standardError)")
        // A maximum-likelihood mixture's statistics do not update a posterior, nor merge with its statistics.
        r = try CommandRunner.run(["fit", "gmm", "--data", TestData.path("faithful.csv"), "--components", "2", "--output", path("vg.json"), "--quiet"])
        r = try CommandRunner.run(["statistics", "--model", path("vg.json"), "--data", TestData.path("faithful.csv"), "--output", path("vgs.json"), "--quiet"])
        r = try CommandRunner.run(["maximize", "--model", path("v0.json"), "--statistics", path("vgs.json"), "--output", path("bad.json")])
        #expect(r.status != 0 && r.standardError.contains("vgs.json"), "\(r.standardError)")
        r = try CommandRunner.run(["merge", path("vall.json"), path("vgs.json"), "--output", path("bad.json")])
        #expect(r.status != 0 && r.standardError.contains("vgs.json"), "\(r.standardError)")
    }

    /// `n` rows of three clusters `spacing` apart in every other column (unit-variance noise), seeded.
    func threeClusterRows(_ n: Int, columns: Int, spacing: Double, seed: UInt64) -> Matrix<Double> {
        var rng = Xoshiro256StarStar(seed: seed)
        var x = Matrix<Double>(rows: n, columns: columns)
        for i in 0..<n {
            let shift = Double(rng.nextInt(below: 3)) * spacing
            for j in 0..<columns { x[i, j] = shift * Double(j % 2) + rng.nextNormal() }
        }
        return x
    }

    /// A 64 MB `.npy` file (2,000,000 × 4), read in blocks of 16,384 rows (512 kB, 1/125 of the
    /// file): the process's peak resident memory stays under 48 MB, below the file's own size
    /// (an in-memory fit holds the data at least twice). Measured: about 33 MB.
    @Test func aStreamedFitHoldsOneBlockNotTheFile() throws {
        let n = 2_000_000
        let x = threeClusterRows(n, columns: 4, spacing: 4, seed: 9)
        try NumPy.write(x, to: path("big.npy"))
        let r = try CommandRunner.run(["fit", "gmm", "--data", path("big.npy"), "--components", "3", "--stream", "--block-rows", "16384",
                                       "--max-iterations", "4", "--threads", "2", "--output", path("big.json"), "--json", "--quiet"])
        #expect(r.status == 0, "\(r.standardError)")
        let o = try #require(JSONSerialization.jsonObject(with: Data(r.standardOutput.utf8)) as? [String: Any])
        let peak = try #require(o["peakResidentMB"] as? Double)
        print("streamed fit of a 64 MB file: peak resident \(peak) MB\(TestData.isSanitized ? " (sanitizer shadow memory: no bound)" : "")")
        if !TestData.isSanitized { #expect(peak < 48) }
        #expect(o["n"] as? Int == n && o["stream"] as? Bool == true)
        // An IDX file is refused with what to do.
        let idx = try CommandRunner.run(["fit", "gmm", "--data", TestData.path("mnist5k-train-labels.idx1-ubyte"), "--components", "2", "--stream", "--output", path("x.json")])
        #expect(idx.status != 0 && idx.standardError.contains(".csv"))
    }

    /// A CSV file streamed in pieces gives the model the same rows give as a `.npy` file, in
    /// bounded memory, with a label column left out as `fit gmm` leaves it out.
    @Test func aStreamedCSVFitEqualsTheNumPyOneInBoundedMemory() throws {
        let n = 400_000
        let x = threeClusterRows(n, columns: 3, spacing: 3, seed: 4)
        var text = "a,b,kind,c\n"
        text.reserveCapacity(n * 40)
        for i in 0..<n { text += "\(CSV.format(x[i, 0])),\(CSV.format(x[i, 1])),k\(i % 4),\(CSV.format(x[i, 2]))\n" }
        try text.write(toFile: path("big.csv"), atomically: true, encoding: .utf8)
        try NumPy.write(x, to: path("same.npy"))
        var fitted: [[Double]] = []
        for (file, model) in [("big.csv", "csv.json"), ("same.npy", "npy.json")] {
            let r = try CommandRunner.run(["fit", "gmm", "--data", path(file), "--components", "3", "--stream", "--max-iterations", "3",
                                           "--seed", "2", "--threads", "2", "--output", path(model), "--json", "--quiet"])
            #expect(r.status == 0, "\(r.standardError)")
            let o = try #require(JSONSerialization.jsonObject(with: Data(r.standardOutput.utf8)) as? [String: Any])
            #expect(o["n"] as? Int == n)
            if file.hasSuffix(".csv") {
                let peak = try #require(o["peakResidentMB"] as? Double)
                print("streamed fit of a \(text.utf8.count / 1_000_000) MB CSV file: peak resident \(peak) MB")
                if !TestData.isSanitized { #expect(peak < 64) }
                #expect((o["warnings"] as? [String])?.contains { $0.contains("kind") } == true)
            }
            fitted.append(try parameters(path(model)))
        }
        #expect(fitted[0] == fitted[1])
    }


    @Test func onlineFitsReportEveryPassAndRefuseBadSteps() throws {
        let r = try CommandRunner.run(["fit", "gmm", "--data", TestData.path("geyser.csv"), "--components", "2", "--online",
                                       "--batch-size", "40", "--passes", "3", "--seed", "4", "--output", path("online.json"), "--json", "--quiet"])
        #expect(r.status == 0, "\(r.standardError)")
        let o = try #require(JSONSerialization.jsonObject(with: Data(r.standardOutput.utf8)) as? [String: Any])
        let history = try #require(o["passHistory"] as? [Double])
        #expect(history.count == 4 && o["online"] as? Bool == true && o["iterations"] as? Int == 3)
        #expect(abs(history.last! - (o["meanLogLikelihood"] as? Double ?? 0)) < 1e-12)
        // The same seed gives the same model.
        let again = try CommandRunner.run(["fit", "gmm", "--data", TestData.path("geyser.csv"), "--components", "2", "--online",
                                           "--batch-size", "40", "--passes", "3", "--seed", "4", "--output", path("online2.json"), "--quiet"])
        #expect(again.status == 0)
        #expect(try Data(contentsOf: URL(fileURLWithPath: path("online.json"))) == Data(contentsOf: URL(fileURLWithPath: path("online2.json"))))
        let bad = try CommandRunner.run(["fit", "gmm", "--data", TestData.path("geyser.csv"), "--components", "2", "--online",
                                         "--step-decay", "0.4", "--output", path("bad.json")])
        #expect(bad.status != 0 && bad.standardError.contains("--step-decay"))
    }

    /// `fit hmm --online` over mini-batches of whole sequences, in memory and streamed from the CSV:
    /// every pass reported, reproducible, close to the batch fit; emissions it cannot average refused.
    @Test func onlineHMMFitsStepOverBatchesOfSequences() throws {
        let lines = try String(contentsOfFile: TestData.path("geyser.csv"), encoding: .utf8).split(separator: "\n")
        let rows = Array(lines.dropFirst()).enumerated().map { "\($0.offset / 30),\($0.element)" }
        try (["id,waiting,duration"] + rows).joined(separator: "\n").write(toFile: path("oseq.csv"), atomically: true, encoding: .utf8)
        let common = ["fit", "hmm", "--data", path("oseq.csv"), "--sequence-column", "id", "--states", "2", "--seed", "3", "--json", "--quiet"]
        let batch = try CommandRunner.run(common + ["--output", path("hb.json")])
        let batchMean = try #require((JSONSerialization.jsonObject(with: Data(batch.standardOutput.utf8)) as? [String: Any])?["meanLogLikelihood"] as? Double)
        for extra in [[], ["--stream"]] {
            let online = common + ["--online", "--batch-size", "2", "--passes", "3"] + extra
            let r = try CommandRunner.run(online + ["--output", path("ho.json")])
            #expect(r.status == 0, "\(r.standardError)")
            let o = try #require(JSONSerialization.jsonObject(with: Data(r.standardOutput.utf8)) as? [String: Any])
            let history = try #require(o["passHistory"] as? [Double])
            #expect(history.count == 4 && o["online"] as? Bool == true && o["sequences"] as? Int == 10)
            #expect(abs(history.last! - (o["meanLogLikelihood"] as? Double ?? 0)) < 1e-12)
            #expect(batchMean - history.last! < 0.02, "\(extra): online \(history.last!), batch \(batchMean)")
            let score = try CommandRunner.run(["score", "--model", path("ho.json"), "--data", path("oseq.csv"), "--json"]).standardOutput
            let scored = try #require((JSONSerialization.jsonObject(with: Data(score.utf8)) as? [String: Any])?["meanLogLikelihood"] as? Double)
            #expect(abs(scored - history.last!) < 1e-9)
            let again = try CommandRunner.run(online + ["--output", path("ho2.json")])
            #expect(again.status == 0)
            #expect(try Data(contentsOf: URL(fileURLWithPath: path("ho.json"))) == Data(contentsOf: URL(fileURLWithPath: path("ho2.json"))))
        }
        var r = try CommandRunner.run(common + ["--online", "--emission", "gmm", "--output", path("bad.json")])
        #expect(r.status != 0 && r.standardError.contains("--emission gmm"), "\(r.standardError)")
        r = try CommandRunner.run(["fit", "hmm", "--data", path("oseq.csv"), "--states", "2", "--online", "--output", path("bad.json")])
        #expect(r.status != 0 && r.standardError.contains("--sequence-column"), "\(r.standardError)")
    }
}
