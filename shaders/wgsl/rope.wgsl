@group(0) @binding(3) var<storage, read_write> v13: array<f32>;
@group(0) @binding(2) var<storage, read_write> v9: array<f32>;
@group(0) @binding(1) var<storage, read_write> v5: array<f32>;
@group(0) @binding(0) var<storage, read_write> v1: array<f32>;
struct info_st { scalars_f32: array<f32, 2>, scalars_u32: array<u32, 10>, static_meta: array<u32, 4> }
@group(0) @binding(4) var<storage, read> info_var: info_st;
@compute @workgroup_size(256, 1, 1)
fn rope_kernel_051c4b29(@builtin(workgroup_id) v133: vec3<u32>, @builtin(local_invocation_id) v136: vec3<u32>) {
let v141 = &v13;
let v142 = &v9;
let v143 = &v5;
let v144 = &v1;
let v17 = info_var.scalars_u32[0];
let v18 = info_var.scalars_u32[1];
let v19 = info_var.scalars_u32[2];
let v20 = info_var.scalars_u32[3];
let v21 = info_var.scalars_u32[4];
let v22 = info_var.scalars_u32[5];
let v23 = info_var.scalars_u32[6];
let v24 = info_var.scalars_u32[7];
let v25 = info_var.scalars_u32[8];
let v26 = info_var.scalars_f32[0];
let v134 = v133[0];
let v135 = v133[1];
let v29 = v135 * v24;
let v30 = v134 + v29;
let v31 = u32(v30);
let v32 = u32(256);
let v33 = v31 * v32;
let v137 = v136[0];
let v35 = u32(v137);
let v36 = v33 + v35;
let v37 = u32(v25);
let v38 = v36 < v37;
if v38 {
let v39 = u32(v17);
let v40 = u32(v18);
let v41 = u32(v19);
let v42 = u32(2);
let v43 = v41 / v42;
let v44 = v36 % v41;
let v45 = v36 / v41;
let v46 = v45 % v40;
let v47 = v41 * v40;
let v48 = v36 / v47;
let v49 = v48 % v39;
let v51 = v47 * v39;
let v52 = v36 / v51;
let v53 = u32(v20);
let v54 = v52 * v53;
let v55 = u32(v21);
let v56 = v49 * v55;
let v57 = v54 + v56;
let v58 = u32(v22);
let v59 = v46 * v58;
let v60 = v57 + v59;
let v61 = u32(v23);
let v62 = v61 + v46;
let v63 = v62 * v41;
let v64 = v63 + v44;
let v65 = v44 < v43;
if v65 {
let v66 = v60 + v44;
let v70 = &(*v144)[v66];
let v71 = *v70;
let v75 = &(*v143)[v64];
let v76 = *v75;
let v79 = v66 + v43;
let v83 = &(*v144)[v79];
let v84 = *v83;
let v88 = &(*v142)[v64];
let v89 = *v88;
let v90 = v84 * v89;
let v138 = -v90;
let v139 = fma(v71, v76, v138);
let v92 = v139 * v26;
let v96 = &(*v141)[v36];
*v96 = v92;

} else {
let v97 = v60 + v44;
let v101 = &(*v144)[v97];
let v102 = *v101;
let v106 = &(*v143)[v64];
let v107 = *v106;
let v110 = v97 - v43;
let v114 = &(*v144)[v110];
let v115 = *v114;
let v119 = &(*v142)[v64];
let v120 = *v119;
let v121 = v115 * v120;
let v140 = fma(v102, v107, v121);
let v123 = v140 * v26;
let v127 = &(*v141)[v36];
*v127 = v123;

}

}
return;

}
