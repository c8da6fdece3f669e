var<workgroup> shared_v73: array<f32, 64>;
@group(0) @binding(4) var<storage, read_write> v17: array<f32>;
@group(0) @binding(3) var<storage, read_write> v13: array<f32>;
@group(0) @binding(2) var<storage, read_write> v9: array<f32>;
@group(0) @binding(1) var<storage, read_write> v5: array<f32>;
@group(0) @binding(0) var<storage, read_write> v1: array<f32>;
struct info_st { scalars_f32: array<f32, 2>, scalars_u32: array<u32, 4>, static_meta: array<u32, 6> }
@group(0) @binding(5) var<storage, read> info_var: info_st;
@compute @workgroup_size(64, 1, 1)
fn add_rms_norm_kernel_2454aae2(@builtin(local_invocation_id) v176: vec3<u32>, @builtin(workgroup_id) v178: vec3<u32>) {
let v186 = &v17;
let v187 = &v13;
let v188 = &v9;
let v189 = &v5;
let v190 = &v1;
let v3 = u32(0);
let v21 = info_var.scalars_u32[0];
let v22 = info_var.scalars_u32[1];
let v23 = info_var.scalars_u32[2];
let v24 = info_var.scalars_f32[0];
let v177 = v176[0];
let v26 = u32(v177);
let v179 = v178[0];
let v180 = v178[1];
let v29 = v180 * v22;
let v30 = v179 + v29;
let v31 = v30 < v23;
let v32 = u32(1);
let v33 = v23 - v32;
let v34 = select(v33, v30, v31);
let v35 = u32(v34);
let v37 = u32(v21);
let v38 = v35 * v37;
let v39 = f32(0.0);
var<function> v168_store: f32;
let v168 = &v168_store;
*v168 = v39;
var<function> v169_store: u32;
let v169 = &v169_store;
*v169 = v26;
loop {
let v43 = *v169;
let v44 = v43 < v37;
if !v44 { break; }
let v46 = *v169;
let v47 = v38 + v46;
let v51 = &(*v190)[v47];
let v52 = *v51;
let v58 = &(*v189)[v47];
let v59 = *v58;
let v60 = v52 + v59;
if v31 {
let v66 = &(*v186)[v47];
*v66 = v60;

}
let v68 = *v168;
let v185 = fma(v60, v60, v68);
*v168 = v185;
let v70 = *v169;
let v71 = u32(64);
let v72 = v70 + v71;
*v169 = v72;

}
let v171 = &shared_v73;
let v75 = u32(64);
let v80 = &(*v171)[v26];
let v81 = *v168;
*v80 = v81;
workgroupBarrier();
let v84 = u32(2);
let v183 = u32(32);
var<function> v172_store: u32;
let v172 = &v172_store;
*v172 = v183;
loop {
let v87 = *v172;
let v89 = v87 > v3;
if !v89 { break; }
let v91 = *v172;
let v92 = v26 < v91;
if v92 {
let v97 = *v80;
let v99 = v26 + v91;
let v103 = &(*v171)[v99];
let v104 = *v103;
let v105 = v97 + v104;
*v80 = v105;

}
workgroupBarrier();
let v110 = *v172;
let v112 = v110 / v84;
*v172 = v112;

}
let v117 = &(*v171)[v3];
let v118 = *v117;
workgroupBarrier();
let v119 = u32(v37);
let v120 = f32(v119);
let v121 = v118 / v120;
let v122 = v121 + v24;
let v123 = sqrt(v122);
let v124 = f32(1.0);
let v125 = v124 / v123;
if v31 {
var<function> v174_store: u32;
let v174 = &v174_store;
*v174 = v26;
loop {
let v127 = *v174;
let v128 = v127 < v37;
if !v128 { break; }
let v130 = *v174;
let v131 = v38 + v130;
let v135 = &(*v190)[v131];
let v136 = *v135;
let v142 = &(*v189)[v131];
let v143 = *v142;
let v144 = v136 + v143;
let v145 = v144 * v125;
let v150 = &(*v188)[v130];
let v151 = *v150;
let v152 = v145 * v151;
let v158 = &(*v187)[v131];
*v158 = v152;
let v161 = v130 + v75;
*v174 = v161;

}

}
return;

}
