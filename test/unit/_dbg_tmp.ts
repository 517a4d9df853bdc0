import { simulate } from './_simdbg_tmp';
void simulate({concurrency:1, seed:43, sized:true}).then((o) => {
for (const x of o) if (x.actualMs >= 1000 && x.priority==='critical') console.log(x.priority.padEnd(9), String(x.estimateMs).padStart(7), String(x.actualMs).padStart(7), (x.estimateMs/x.actualMs).toFixed(2));
});
