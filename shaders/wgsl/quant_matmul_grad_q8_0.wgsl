@group(0) @binding(3) var<storage, read_write> v13: array<f32>;
@group(0) @binding(2) var<storage, read_write> v9: array<f32>;
@group(0) @binding(1) var<storage, read_write> v5: array<u32>;
@group(0) @binding(0) var<storage, read_write> v1: array<f32>;
struct info_st { scalars_u32: array<u32, 4>, static_meta: array<u32, 4> }
@group(0) @binding(4) var<storage, read> info_var: info_st;
@compute @workgroup_size(256, 1, 1)
fn quant_matmul_grad_kernel_9719f3f5(@builtin(workgroup_id) v116: vec3<u32>, @builtin(local_invocation_id) v119: vec3<u32>) {
let v122 = &v13;
let v123 = &v9;
let v124 = &v5;
let v125 = &v1;
let v3 = u32(0);
let v17 = info_var.scalars_u32[0];
let v18 = info_var.scalars_u32[1];
let v19 = info_var.scalars_u32[2];
let v20 = info_var.scalars_u32[3];
let v117 = v116[0];
let v118 = v116[1];
let v23 = v118 * v20;
let v24 = v117 + v23;
let v25 = u32(v24);
let v26 = u32(256);
let v27 = v25 * v26;
let v120 = v119[0];
let v29 = u32(v120);
let v30 = v27 + v29;
let v31 = u32(v18);
let v32 = u32(v19);
let v33 = u32(v17);
let v34 = v33 * v32;
let v35 = v30 < v34;
if v35 {
let v36 = v30 / v32;
let v37 = v30 % v32;
let v38 = f32(0.0);
var<function> v113_store: f32;
let v113 = &v113_store;
*v113 = v38;
var<function> v114_store: u32;
let v114 = &v114_store;
*v114 = v3;
loop {
let v44 = *v114;
let v45 = v44 < v31;
if !v45 { break; }
let v47 = v36 * v31;
let v48 = *v114;
let v49 = v47 + v48;
let v53 = &(*v125)[v49];
let v54 = *v53;
let v55 = u32(32);
let v56 = v32 / v55;
let v58 = v48 * v56;
let v60 = v37 / v55;
let v61 = v58 + v60;
let v65 = &(*v123)[v61];
let v66 = *v65;
let v69 = u32(4);
let v70 = v32 / v69;
let v72 = v48 * v70;
let v74 = v37 / v69;
let v75 = v72 + v74;
let v79 = &(*v124)[v75];
let v80 = *v79;
let v82 = v37 % v69;
let v83 = u32(8);
let v84 = v82 * v83;
let v85 = u32(v84);
let v86 = v80 >> u32(v85);
let v87 = u32(255);
let v88 = v86 & v87;
let v89 = f32(v88);
let v90 = u32(127);
let v91 = v88 > v90;
let v92 = f32(256.0);
let v94 = select(v38, v92, v91);
let v95 = v89 - v94;
let v96 = v66 * v95;
let v98 = *v113;
let v121 = fma(v54, v96, v98);
*v113 = v121;
let v100 = *v114;
let v101 = u32(1);
let v102 = v100 + v101;
*v114 = v102;

}
let v106 = &(*v122)[v30];
let v107 = *v113;
*v106 = v107;

}
return;

}
