/** R² (1 − residual / total sum of squares) and MSE of predictions against targets. */
export function regressionScores(y: ArrayLike<number>, p: ArrayLike<number>): { r2: number; mse: number } {
  let mean = 0;
  for (let i = 0; i < y.length; i++) mean += y[i] / y.length;
  let ssRes = 0;
  let ssTot = 0;
  for (let i = 0; i < y.length; i++) {
    ssRes += (y[i] - p[i]) ** 2;
    ssTot += (y[i] - mean) ** 2;
  }
  return { mse: ssRes / y.length, r2: ssTot > 0 ? 1 - ssRes / ssTot : NaN };
}
