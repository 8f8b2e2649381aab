import Foundation
import Testing
import LatentCore

@Suite struct LinearAlgebraTests {
    func randomMatrix(_ r: Int, _ c: Int, seed: UInt64) -> Matrix<Double> {
        var rng = Xoshiro256StarStar(seed: seed)
        return Matrix(rows: r, columns: c, storage: (0..<(r * c)).map { _ in rng.nextNormal() })
    }

    func randomSPD(_ n: Int, seed: UInt64) -> Matrix<Double> {
        let a = randomMatrix(n + 3, n, seed: seed)
        return a.gram + Matrix.identity(n)
    }

    @Test func gemmMatchesNaiveProduct() {
        let a = randomMatrix(7, 5, seed: 1), b = randomMatrix(5, 4, seed: 2)
        let c = a.multiplied(by: b)
        for i in 0..<7 { for j in 0..<4 {
            let naive = (0..<5).reduce(0.0) { $0 + a[i, $1] * b[$1, j] }
            #expect(abs(c[i, j] - naive) < 1e-12)
        } }
        let ct = a.multiplied(by: a, transposeSelf: true)
        #expect(zip(ct.elements, a.gram.elements).allSatisfy { abs($0 - $1) < 1e-12 })
        let f = a.float.multiplied(by: b.float)
        #expect(zip(f.elements, c.elements).allSatisfy { abs(Double($0) - $1) < 1e-4 })
    }

    @Test func choleskyReconstructsAndSolves() throws {
        let a = randomSPD(6, seed: 3)
        let ch = try Cholesky(a)
        let l = ch.lower
        let llt = l.multiplied(by: l, transposeOther: true)
        #expect(zip(llt.elements, a.elements).allSatisfy { abs($0 - $1) < 1e-10 })
        let b = [1.0, -2, 3, 0.5, 0, 4]
        let x = ch.solve(b)
        for i in 0..<6 { #expect(abs((0..<6).reduce(0.0) { $0 + a[i, $1] * x[$1] } - b[i]) < 1e-9) }
        // log det from eigenvalues
        let eig = try SymmetricEigen(a)
        #expect(abs(ch.logDeterminant - eig.values.map { log($0) }.reduce(0, +)) < 1e-9)
        // A⁻¹ = P Pᵀ
        let inv = ch.inverse.multiplied(by: a)
        #expect(zip(inv.elements, Matrix<Double>.identity(6).elements).allSatisfy { abs($0 - $1) < 1e-9 })
    }

    @Test func choleskyRejectsIndefiniteMatrices() {
        let a = Matrix([[1.0, 2], [2, 1]])
        #expect(throws: LinearAlgebraError.notPositiveDefinite(minor: 2)) { try Cholesky(a) }
        let nan = Matrix([[Double.nan, 0], [0, 1]])
        #expect(throws: LinearAlgebraError.self) { try Cholesky(nan) }
    }

    @Test func eigenAndSingularValueDecompositionsReconstruct() throws {
        let a = randomSPD(5, seed: 4)
        let e = try SymmetricEigen(a)
        #expect(e.values == e.values.sorted())
        let v = e.vectors
        let rebuilt = v.multiplied(by: .diagonal(e.values)).multiplied(by: v, transposeOther: true)
        #expect(zip(rebuilt.elements, a.elements).allSatisfy { abs($0 - $1) < 1e-9 })
        let m = randomMatrix(7, 3, seed: 5)
        let svd = try SingularValueDecomposition(m)
        let usv = svd.u.multiplied(by: .diagonal(svd.singularValues)).multiplied(by: svd.vt)
        #expect(zip(usv.elements, m.elements).allSatisfy { abs($0 - $1) < 1e-10 })
    }

    @Test func triangularSolvesInvertProducts() {
        let l = Matrix([[2.0, 0, 0], [1, 3, 0], [-1, 2, 4]])
        let b = [1.0, 2, 3]
        let x = Triangular.solveLower(l, b)
        for i in 0..<3 { #expect(abs((0..<3).reduce(0.0) { $0 + l[i, $1] * x[$1] } - b[i]) < 1e-12) }
        let y = Triangular.solveUpper(l, transposeOfLower: true, b)
        for i in 0..<3 { #expect(abs((0..<3).reduce(0.0) { $0 + l[$1, i] * y[$1] } - b[i]) < 1e-12) }
    }

    @Test func containsNaNFindsAMissingValueAnywhereAndIgnoresInfinities() {
        // 19 elements: two whole vectors of eight and a tail of three.
        let clean = (0..<19).map { Double($0) - 7.5 }
        #expect(!Matrix(rows: 1, columns: 19, storage: clean).containsNaN)
        #expect(!Matrix<Double>(rows: 0, columns: 3).containsNaN)
        for at in [0, 7, 8, 15, 16, 18] {
            var x = clean
            x[at] = .nan
            #expect(Matrix(rows: 1, columns: 19, storage: x).containsNaN, "NaN at \(at)")
            x[at] = at.isMultiple(of: 2) ? .infinity : -.infinity
            #expect(!Matrix(rows: 1, columns: 19, storage: x).containsNaN, "∞ at \(at)")
        }
    }
}
