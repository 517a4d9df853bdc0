import { FakeClock } from '../helpers/fakeClock';
import { WaitEstimator } from '../../server/core/waitEstimate';
const clock = new FakeClock();
const e = new WaitEstimator({ clock });
let seed = 1; const r = () => { seed = (seed * 16807) % 2147483647; return seed / 2147483647; };
const g = () => Math.sqrt(-2*Math.log(r()))*Math.cos(2*Math.PI*r());
for (let i = 0; i < 300; i++) {
  const x = [64,256,1024][Math.floor(r()*3)]!;
  const y = (300 + 15*x) * Math.exp(0.25*g() - 0.03125);
  e.observe('m', y, x);
  if (i % 50 === 49) console.log(i, [64,256,1024].map(t => JSON.stringify(e.processing('m', t))).join(' '));
}
