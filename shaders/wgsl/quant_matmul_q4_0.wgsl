@group(0) @binding(3) var<storage, read_write> v13: array<f32>;
@group(0) @binding(2) var<storage, read_write> v9: array<f32>;
@group(0) @binding(1) var<storage, read_write> v5: array<u32>;
@group(0) @binding(0) var<storage, read_write> v1: array<f32>;
struct info_st { scalars_u32: array<u32, 4>, static_meta: array<u32, 4> }
@group(0) @binding(4) var<storage, read> info_var: info_st;
@compute @workgroup_size(256, 1, 1)
fn quant_matmul_kernel_552831a8(@builtin(workgroup_id) v125: vec3<u32>, @builtin(local_invocation_id) v128: vec3<u32>) {
let v131 = &v13;
let v132 = &v9;
let v133 = &v5;
let v134 = &v1;
let v3 = u32(0);
let v17 = info_var.scalars_u32[0];
let v18 = info_var.scalars_u32[1];
let v19 = info_var.scalars_u32[2];
let v20 = info_var.scalars_u32[3];
let v126 = v125[0];
let v127 = v125[1];
let v23 = v127 * v20;
let v24 = v126 + v23;
let v25 = u32(v24);
let v26 = u32(256);
let v27 = v25 * v26;
let v129 = v128[0];
let v29 = u32(v129);
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
var<function> v122_store: f32;
let v122 = &v122_store;
*v122 = v38;
var<function> v123_store: u32;
let v123 = &v123_store;
*v123 = v3;
loop {
let v44 = *v123;
let v45 = v44 < v32;
if !v45 { break; }
let v47 = v36 * v32;
let v48 = *v123;
let v49 = v47 + v48;
let v53 = &(*v134)[v49];
let v54 = *v53;
let v55 = u32(32);
let v56 = v32 / v55;
let v57 = v37 * v56;
let v60 = v48 / v55;
let v61 = v57 + v60;
let v65 = &(*v132)[v61];
let v66 = *v65;
let v69 = v48 % v55;
let v73 = u32(16);
let v74 = v60 * v73;
let v76 = v69 % v73;
let v77 = v74 + v76;
let v78 = u32(8);
let v79 = v32 / v78;
let v80 = v37 * v79;
let v81 = u32(4);
let v82 = v77 / v81;
let v83 = v80 + v82;
let v87 = &(*v133)[v83];
let v88 = *v87;
let v90 = v77 % v81;
let v92 = v90 * v78;
let v94 = v69 / v73;
let v96 = v94 * v81;
let v97 = v92 + v96;
let v98 = u32(v97);
let v99 = v88 >> u32(v98);
let v100 = u32(15);
let v101 = v99 & v100;
let v102 = f32(v101);
let v103 = f32(8.0);
let v104 = v102 - v103;
let v105 = v66 * v104;
let v107 = *v122;
let v130 = fma(v54, v105, v107);
*v122 = v130;
let v109 = *v123;
let v110 = u32(1);
let v111 = v109 + v110;
*v123 = v111;

}
let v115 = &(*v131)[v30];
let v116 = *v122;
*v115 = v116;

}
return;

}
