@group(0) @binding(3) var<storage, read_write> v13: array<f32>;
@group(0) @binding(2) var<storage, read_write> v9: array<f32>;
@group(0) @binding(1) var<storage, read_write> v5: array<u32>;
@group(0) @binding(0) var<storage, read_write> v1: array<f32>;
struct info_st { scalars_u32: array<u32, 4>, static_meta: array<u32, 4> }
@group(0) @binding(4) var<storage, read> info_var: info_st;
@compute @workgroup_size(256, 1, 1)
fn quant_matmul_grad_kernel_800bd35b(@builtin(workgroup_id) v124: vec3<u32>, @builtin(local_invocation_id) v127: vec3<u32>) {
let v130 = &v13;
let v131 = &v9;
let v132 = &v5;
let v133 = &v1;
let v3 = u32(0);
let v17 = info_var.scalars_u32[0];
let v18 = info_var.scalars_u32[1];
let v19 = info_var.scalars_u32[2];
let v20 = info_var.scalars_u32[3];
let v125 = v124[0];
let v126 = v124[1];
let v23 = v126 * v20;
let v24 = v125 + v23;
let v25 = u32(v24);
let v26 = u32(256);
let v27 = v25 * v26;
let v128 = v127[0];
let v29 = u32(v128);
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
var<function> v121_store: f32;
let v121 = &v121_store;
*v121 = v38;
var<function> v122_store: u32;
let v122 = &v122_store;
*v122 = v3;
loop {
let v44 = *v122;
let v45 = v44 < v31;
if !v45 { break; }
let v47 = v36 * v31;
let v48 = *v122;
let v49 = v47 + v48;
let v53 = &(*v133)[v49];
let v54 = *v53;
let v55 = u32(32);
let v56 = v32 / v55;
let v58 = v48 * v56;
let v60 = v37 / v55;
let v61 = v58 + v60;
let v65 = &(*v131)[v61];
let v66 = *v65;
let v68 = v37 % v55;
let v71 = u32(16);
let v72 = v60 * v71;
let v74 = v68 % v71;
let v75 = v72 + v74;
let v76 = u32(8);
let v77 = v32 / v76;
let v79 = v48 * v77;
let v80 = u32(4);
let v81 = v75 / v80;
let v82 = v79 + v81;
let v86 = &(*v132)[v82];
let v87 = *v86;
let v89 = v75 % v80;
let v91 = v89 * v76;
let v93 = v68 / v71;
let v95 = v93 * v80;
let v96 = v91 + v95;
let v97 = u32(v96);
let v98 = v87 >> u32(v97);
let v99 = u32(15);
let v100 = v98 & v99;
let v101 = f32(v100);
let v102 = f32(8.0);
let v103 = v101 - v102;
let v104 = v66 * v103;
let v106 = *v121;
let v129 = fma(v54, v104, v106);
*v121 = v129;
let v108 = *v122;
let v109 = u32(1);
let v110 = v108 + v109;
*v122 = v110;

}
let v114 = &(*v130)[v30];
let v115 = *v121;
*v114 = v115;

}
return;

}
