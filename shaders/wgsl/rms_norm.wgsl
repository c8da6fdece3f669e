var<workgroup> shared_v51: array<f32, 64>;
@group(0) @binding(2) var<storage, read_write> v9: array<f32>;
@group(0) @binding(1) var<storage, read_write> v5: array<f32>;
@group(0) @binding(0) var<storage, read_write> v1: array<f32>;
struct info_st { scalars_f32: array<f32, 2>, scalars_u32: array<u32, 4>, static_meta: array<u32, 4> }
@group(0) @binding(3) var<storage, read> info_var: info_st;
@compute @workgroup_size(64, 1, 1)
fn rms_norm_kernel_8cb47bb6(@builtin(local_invocation_id) v144: vec3<u32>, @builtin(workgroup_id) v146: vec3<u32>) {
let v154 = &v9;
let v155 = &v5;
let v156 = &v1;
let v3 = u32(0);
let v13 = info_var.scalars_u32[0];
let v14 = info_var.scalars_u32[1];
let v15 = info_var.scalars_u32[2];
let v16 = info_var.scalars_f32[0];
let v145 = v144[0];
let v18 = u32(v145);
let v147 = v146[0];
let v148 = v146[1];
let v21 = v148 * v14;
let v22 = v147 + v21;
let v23 = v22 < v15;
let v24 = u32(1);
let v25 = v15 - v24;
let v26 = select(v25, v22, v23);
let v27 = u32(v26);
let v29 = u32(v13);
let v30 = v27 * v29;
let v31 = f32(0.0);
var<function> v136_store: f32;
let v136 = &v136_store;
*v136 = v31;
var<function> v137_store: u32;
let v137 = &v137_store;
*v137 = v18;
loop {
let v35 = *v137;
let v36 = v35 < v29;
if !v36 { break; }
let v38 = *v137;
let v39 = v30 + v38;
let v43 = &(*v156)[v39];
let v44 = *v43;
let v46 = *v136;
let v153 = fma(v44, v44, v46);
*v136 = v153;
let v48 = *v137;
let v49 = u32(64);
let v50 = v48 + v49;
*v137 = v50;

}
let v139 = &shared_v51;
let v53 = u32(64);
let v58 = &(*v139)[v18];
let v59 = *v136;
*v58 = v59;
workgroupBarrier();
let v62 = u32(2);
let v151 = u32(32);
var<function> v140_store: u32;
let v140 = &v140_store;
*v140 = v151;
loop {
let v65 = *v140;
let v67 = v65 > v3;
if !v67 { break; }
let v69 = *v140;
let v70 = v18 < v69;
if v70 {
let v75 = *v58;
let v77 = v18 + v69;
let v81 = &(*v139)[v77];
let v82 = *v81;
let v83 = v75 + v82;
*v58 = v83;

}
workgroupBarrier();
let v88 = *v140;
let v90 = v88 / v62;
*v140 = v90;

}
let v95 = &(*v139)[v3];
let v96 = *v95;
workgroupBarrier();
let v97 = u32(v29);
let v98 = f32(v97);
let v99 = v96 / v98;
let v100 = v99 + v16;
let v101 = sqrt(v100);
let v102 = f32(1.0);
let v103 = v102 / v101;
if v23 {
var<function> v142_store: u32;
let v142 = &v142_store;
*v142 = v18;
loop {
let v105 = *v142;
let v106 = v105 < v29;
if !v106 { break; }
let v108 = *v142;
let v109 = v30 + v108;
let v113 = &(*v156)[v109];
let v114 = *v113;
let v115 = v114 * v103;
let v120 = &(*v155)[v108];
let v121 = *v120;
let v122 = v115 * v121;
let v128 = &(*v154)[v109];
*v128 = v122;
let v131 = v108 + v53;
*v142 = v131;

}

}
return;

}
