import Foundation
import Testing
import TestSupport

/// The command line's side of the eligibility rule: the README's Nile example as written, the
/// `iterations` / `finalRunIterations` keys, and `select`'s `collapsed` flag.
@Suite(.serialized) struct DegeneracyCLITests {
    let dir = TestData.temporaryDirectory()

    func json(_ text: String) throws -> [String: Any] {
        try #require(JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
    }

    @Test func theReadmeNileExampleFindsTheTwoRegimes() throws {
        let model = dir.appendingPathComponent("nile.json").path
        for seed in 0..<5 {
            let r = try CommandRunner.run(["fit", "hmm", "--data", TestData.path("nile.csv"), "--columns", "flow", "--states", "2",
                                           "--seed", String(seed), "--output", model, "--json", "--quiet"])
            #expect(r.status == 0, "\(r.standardError)")
            let o = try json(r.standardOutput)
            #expect(abs((o["logLikelihood"] as? Double ?? 0) - -629.8045) < 0.01, "seed \(seed)")
            #expect(o["collapsed"] as? Bool == false)
            let total = try #require(o["iterations"] as? Int), final = try #require(o["finalRunIterations"] as? Int)
            #expect(total > final && final >= 1, "every EM iteration is counted: \(total) in all, \(final) in the final run")
        }
    }

    @Test func selectMarksCombinationsWhoseEveryStartCollapsed() throws {
        // Three distinct points, 30 copies of each: K ≥ 2 puts a component on repeated values.
        let data = dir.appendingPathComponent("three.csv").path
        let rows = (0..<90).map { ["0,0", "5,1", "2,7"][$0 % 3] }
        try ("a,b\n" + rows.joined(separator: "\n") + "\n").write(toFile: data, atomically: true, encoding: .utf8)
        let r = try CommandRunner.run(["select", "gmm", "--data", data, "--components", "1-3", "--covariance", "diag", "--json", "--quiet"])
        #expect(r.status == 0, "\(r.standardError)")
        let o = try json(r.standardOutput)
        #expect(o["components"] as? Int == 1)
        let table = try #require(o["table"] as? [[String: Any]])
        #expect(table.count == 3)
        for row in table {
            let k = row["components"] as? Int ?? 0
            #expect(row["collapsed"] as? Bool == (k >= 2), "K=\(k)")
        }
        // And `fit` refuses such a model with what to do.
        let fit = try CommandRunner.run(["fit", "gmm", "--data", data, "--components", "3", "--covariance", "diag",
                                         "--output", dir.appendingPathComponent("g.json").path, "--quiet"])
        #expect(fit.status != 0)
        #expect(fit.standardError.contains("repeated values") && fit.standardError.contains("--relative-regularization"))
    }
}
