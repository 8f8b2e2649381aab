import Foundation
import Testing
import TestSupport

@Suite(.serialized) struct FactorModelCLITests {
    let dir = TestData.temporaryDirectory()

    func json(_ text: String) throws -> [String: Any] {
        try #require(JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
    }

    @Test func factorAnalysisAndPPCAFitScoreTransformAndSample() throws {
        let bfi = TestData.path("bfi.csv")
        for (kind, flag) in [("fa", "--factors"), ("ppca", "--factors")] {
            let model = dir.appendingPathComponent("\(kind).json").path
            let r = try CommandRunner.run(["fit", kind, "--data", bfi, flag, "5", "--output", model, "--json", "--quiet"])
            #expect(r.status == 0, "\(r.standardError)")
            let o = try json(r.standardOutput)
            for key in ["model", "meanLogLikelihood", "logLikelihood", "n", "parameters", "bic", "aic", "iterations", "converged", "seconds"] {
                #expect(o[key] != nil, "\(kind) lacks \(key)")
            }
            #expect(o["model"] as? String == kind && o["n"] as? Int == 2800 && o["missingValues"] as? Int == 508)
            let score = try json(CommandRunner.run(["score", "--model", model, "--data", bfi, "--json"]).standardOutput)
            #expect(abs((score["logLikelihood"] as! Double) - (o["logLikelihood"] as! Double)) < 1e-6 * abs(o["logLikelihood"] as! Double))
            let z = try CommandRunner.run(["transform", "--model", model, "--data", bfi]).standardOutput.split(separator: "\n")
            #expect(z.first == "z0,z1,z2,z3,z4" && z.count == 2801)
            let s = try CommandRunner.run(["sample", "--model", model, "--count", "3", "--seed", "1"]).standardOutput.split(separator: "\n")
            #expect(s.count == 4 && s[0].hasPrefix("A1,A2"))
        }
    }

    /// `--stream` reads the CSV in pieces and fits the moments of one pass: the model that the whole
    /// file in memory gives, with complete rows (wine) and with missing values (bfi, moments per
    /// missingness pattern).
    @Test func streamedFactorModelsEqualTheInMemoryOnes() throws {
        for (file, rows) in [(TestData.path("reference/wine13.csv"), 178), (TestData.path("bfi.csv"), 2800)] {
            for kind in ["fa", "ppca"] {
                var totals: [Double] = []
                for extra in [[], ["--stream", "--block-rows", "170"]] {
                    let model = dir.appendingPathComponent("\(kind)-stream.json").path
                    let r = try CommandRunner.run(["fit", kind, "--data", file, "--factors", "3", "--output", model, "--json", "--quiet"] + extra)
                    #expect(r.status == 0, "\(r.standardError)")
                    let o = try json(r.standardOutput)
                    #expect(o["n"] as? Int == rows && (extra.isEmpty || o["stream"] as? Bool == true))
                    totals.append(try #require(o["logLikelihood"] as? Double))
                }
                #expect(abs(totals[0] - totals[1]) <= 1e-9 * abs(totals[0]), "\(file) \(kind): \(totals)")
            }
        }
    }

    /// `--online` (stepwise EM over mini-batches) from memory and from the streamed CSV: close to the
    /// batch fit's likelihood; rows with missing values are refused, naming the file's row.
    @Test func onlineFactorModelsComeCloseToTheBatchFit() throws {
        let wine = TestData.path("reference/wine13.csv")
        let model = dir.appendingPathComponent("online.json").path
        for kind in ["fa", "ppca"] {
            let batch = try json(CommandRunner.run(["fit", kind, "--data", wine, "--factors", "2", "--output", model, "--json", "--quiet"]).standardOutput)
            for extra in [[], ["--stream"]] {
                let r = try CommandRunner.run(["fit", kind, "--data", wine, "--factors", "2", "--online", "--batch-size", "32", "--passes", "3",
                                               "--output", model, "--json", "--quiet"] + extra)
                #expect(r.status == 0, "\(r.standardError)")
                let o = try json(r.standardOutput)
                #expect(o["online"] as? Bool == true && o["passes"] as? Int == 3 && o["batchSize"] as? Int == 32)
                let gap = (batch["meanLogLikelihood"] as! Double) - (o["meanLogLikelihood"] as! Double)
                #expect(gap >= -1e-9 && gap < 0.05, "\(kind) \(extra): \(gap) nats per row below the batch fit")
                let score = try json(CommandRunner.run(["score", "--model", model, "--data", wine, "--json"]).standardOutput)
                #expect(abs((score["logLikelihood"] as! Double) - (o["logLikelihood"] as! Double)) < 1e-6 * abs(o["logLikelihood"] as! Double))
            }
        }
        for extra in [[], ["--stream"]] {
            let r = try CommandRunner.run(["fit", "fa", "--data", TestData.path("bfi.csv"), "--factors", "5", "--online", "--output", model] + extra)
            #expect(r.status != 0 && r.standardError.contains("bfi.csv") && r.standardError.contains("row 10"), "\(r.standardError)")
        }
        let r = try CommandRunner.run(["fit", "fa", "--data", wine, "--factors", "2", "--online", "--step-decay", "0.3", "--output", model])
        #expect(r.status != 0 && r.standardError.contains("--step-decay"), "\(r.standardError)")
    }

    @Test func imputeFillsOnlyMissingCellsAndKeepsEveryOtherByte() throws {
        let air = TestData.path("airquality.csv")
        let model = dir.appendingPathComponent("air.json").path
        #expect(try CommandRunner.run(["fit", "gmm", "--data", air, "--components", "1", "--output", model, "--quiet"]).status == 0)
        let out = dir.appendingPathComponent("filled.csv").path
        let r = try CommandRunner.run(["impute", "--model", model, "--data", air, "--output", out])
        #expect(r.status == 0, "\(r.standardError)")
        let original = try String(contentsOfFile: air, encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false)
        let filled = try String(contentsOfFile: out, encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false)
        #expect(original.count == filled.count)
        var filledCells = 0
        for (a, b) in zip(original, filled) where !a.isEmpty {
            let fa = a.split(separator: ",", omittingEmptySubsequences: false), fb = b.split(separator: ",", omittingEmptySubsequences: false)
            #expect(fa.count == fb.count)
            for (x, y) in zip(fa, fb) {
                if x.isEmpty { #expect(Double(y) != nil); filledCells += 1 } else { #expect(x == y) }
            }
        }
        #expect(filledCells == 44)
        let drawn = dir.appendingPathComponent("drawn.csv").path
        #expect(try CommandRunner.run(["impute", "--model", model, "--data", air, "--output", drawn, "--draws", "3", "--seed", "2"]).status == 0)
        let lines = try String(contentsOfFile: drawn, encoding: .utf8).split(separator: "\n")
        #expect(lines.first == "ozone,solar_r,wind,temp,draw" && lines.count == 1 + 3 * 153)
    }
}
