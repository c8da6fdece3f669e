@group(0) @binding(3) var<storage, read_write> v13: array<f32>;
@group(0) @binding(2) var<storage, read_write> v9: array<f32>;
@group(0) @binding(1) var<storage, read_write> v5: array<u32>;
@group(0) @binding(0) var<storage, read_write> v1: array<f32>;
struct info_st { scalars_u32: array<u32, 4>, static_meta: array<u32, 4> }
@group(0) @binding(4) var<storage, read> info_var: info_st;
@compute @workgroup_size(256, 1, 1)
fn quant_matmul_kernel_46ffcd57(@builtin(workgroup_id) v118: vec3<u32>, @builtin(local_invocation_id) v121: vec3<u32>) {
let v124 = &v13;
let v125 = &v9;
let v126 = &v5;
let v127 = &v1;
let v3 = u32(0);
let v17 = info_var.scalars_u32[0];
let v18 = info_var.scalars_u32[1];
let v19 = info_var.scalars_u32[2];
let v20 = info_var.scalars_u32[3];
let v119 = v118[0];
let v120 = v118[1];
let v23 = v120 * v20;
let v24 = v119 + v23;
let v25 = u32(v24);
let v26 = u32(256);
let v27 = v25 * v26;
let v122 = v121[0];
let v29 = u32(v122);
let v30 = v27 + v29;
let v31 = u32(v18);
let v32 = u32(v19);
let v33 = u32(v17);
let v34 = v33 * v31;
let v35 = v30 < v34;
if v35 {
let v36 = v30 / v31;
let v37 = v30 % v31;
let v38 = f32(0.0);
var<function> v115_store: f32;
let v115 = &v115_store;
*v115 = v38;
var<function> v116_store: u32;
let v116 = &v116_store;
*v116 = v3;
loop {
let v44 = *v116;
let v45 = v44 < v32;
if !v45 { break; }
let v47 = v36 * v32;
let v48 = *v116;
let v49 = v47 + v48;
let v53 = &(*v127)[v49];
let v54 = *v53;
let v55 = u32(32);
let v56 = v32 / v55;
let v57 = v37 * v56;
let v60 = v48 / v55;
let v61 = v57 + v60;
let v65 = &(*v125)[v61];
let v66 = *v65;
let v70 = u32(4);
let v71 = v32 / v70;
let v72 = v37 * v71;
let v75 = v48 / v70;
let v76 = v72 + v75;
let v80 = &(*v126)[v76];
let v81 = *v80;
let v84 = v48 % v70;
let v85 = u32(8);
let v86 = v84 * v85;
let v87 = u32(v86);
let v88 = v81 >> u32(v87);
let v89 = u32(255);
let v90 = v88 & v89;
let v91 = f32(v90);
let v92 = u32(127);
let v93 = v90 > v92;
let v94 = f32(256.0);
let v96 = select(v38, v94, v93);
let v97 = v91 - v96;
let v98 = v66 * v97;
let v100 = *v115;
let v123 = fma(v54, v98, v100);
*v115 = v123;
let v102 = *v116;
let v103 = u32(1);
let v104 = v102 + v103;
*v116 = v104;

}
let v108 = &(*v124)[v30];
let v109 = *v115;
*v108 = v109;

}
return;

}
