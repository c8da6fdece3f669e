var<workgroup> shared_v34: array<f32, 256>;
@group(0) @binding(3) var<storage, read_write> v13: array<f32>;
@group(0) @binding(2) var<storage, read_write> v9: array<f32>;
@group(0) @binding(1) var<storage, read_write> v5: array<f32>;
@group(0) @binding(0) var<storage, read_write> v1: array<f32>;
struct info_st { scalars_u32: array<u32, 4>, static_meta: array<u32, 4> }
@group(0) @binding(4) var<storage, read> info_var: info_st;
@compute @workgroup_size(256, 1, 1)
fn logprob_grad_kernel_27c6ddd1(@builtin(local_invocation_id) v234: vec3<u32>, @builtin(workgroup_id) v236: vec3<u32>) {
let v247 = &v13;
let v248 = &v9;
let v249 = &v5;
let v250 = &v1;
let v3 = u32(0);
let v17 = info_var.scalars_u32[0];
let v18 = info_var.scalars_u32[1];
let v19 = info_var.scalars_u32[2];
let v235 = v234[0];
let v21 = u32(v235);
let v237 = v236[0];
let v238 = v236[1];
let v24 = v238 * v18;
let v25 = v237 + v24;
let v26 = v25 < v19;
let v27 = u32(1);
let v28 = v19 - v27;
let v29 = select(v28, v25, v26);
let v30 = u32(v29);
let v32 = u32(v17);
let v33 = v30 * v32;
let v219 = &shared_v34;
let v36 = u32(256);
let v38 = f32(-3.3999999521443642e38);
var<function> v220_store: f32;
let v220 = &v220_store;
*v220 = v38;
var<function> v221_store: u32;
let v221 = &v221_store;
*v221 = v21;
loop {
let v42 = *v221;
let v43 = v42 < v32;
if !v43 { break; }
let v45 = *v221;
let v46 = v33 + v45;
let v50 = &(*v250)[v46];
let v51 = *v50;
let v52 = *v220;
let v53 = max(v52, v51);
*v220 = v53;
let v54 = *v221;
let v56 = v54 + v36;
*v221 = v56;

}
let v60 = &(*v219)[v21];
let v61 = *v220;
*v60 = v61;
workgroupBarrier();
let v64 = u32(2);
let v245 = u32(128);
var<function> v223_store: u32;
let v223 = &v223_store;
*v223 = v245;
loop {
let v67 = *v223;
let v69 = v67 > v3;
if !v69 { break; }
let v71 = *v223;
let v72 = v21 < v71;
if v72 {
let v77 = *v60;
let v79 = v21 + v71;
let v83 = &(*v219)[v79];
let v84 = *v83;
let v85 = v84 > v77;
let v86 = select(v77, v84, v85);
*v60 = v86;

}
workgroupBarrier();
let v91 = *v223;
let v93 = v91 / v64;
*v223 = v93;

}
let v98 = &(*v219)[v3];
let v99 = *v98;
workgroupBarrier();
let v100 = f32(0.0);
var<function> v225_store: f32;
let v225 = &v225_store;
*v225 = v100;
var<function> v226_store: u32;
let v226 = &v226_store;
*v226 = v21;
loop {
let v104 = *v226;
let v105 = v104 < v32;
if !v105 { break; }
let v107 = *v226;
let v108 = v33 + v107;
let v112 = &(*v250)[v108];
let v113 = *v112;
let v114 = v113 - v99;
let v115 = exp(v114);
let v116 = *v225;
let v117 = v116 + v115;
*v225 = v117;
let v118 = *v226;
let v120 = v118 + v36;
*v226 = v120;

}
let v125 = *v225;
*v60 = v125;
workgroupBarrier();
var<function> v228_store: u32;
let v228 = &v228_store;
*v228 = v245;
loop {
let v131 = *v228;
let v133 = v131 > v3;
if !v133 { break; }
let v135 = *v228;
let v136 = v21 < v135;
if v136 {
let v141 = *v60;
let v143 = v21 + v135;
let v147 = &(*v219)[v143];
let v148 = *v147;
let v149 = v141 + v148;
*v60 = v149;

}
workgroupBarrier();
let v154 = *v228;
let v156 = v154 / v64;
*v228 = v156;

}
let v162 = *v98;
workgroupBarrier();
if v26 {
let v166 = &(*v248)[v30];
let v167 = *v166;
let v168 = v167 / v162;
let v172 = &(*v249)[v30];
let v173 = *v172;
let v175 = v173 >= v100;
var<function> v230_store: bool;
let v230 = &v230_store;
if v175 {
let v176 = f32(v17);
let v177 = v173 < v176;
*v230 = v177;

} else {
let v179 = false;
*v230 = v179;

}
let v180 = u32(v173);
let v181 = *v230;
let v182 = select(v17, v180, v181);
let v183 = u32(v182);
var<function> v231_store: u32;
let v231 = &v231_store;
*v231 = v21;
loop {
let v185 = *v231;
let v186 = v185 < v32;
if !v186 { break; }
let v188 = -v168;
let v189 = *v231;
let v190 = v33 + v189;
let v194 = &(*v250)[v190];
let v195 = *v194;
let v196 = v195 - v99;
let v197 = exp(v196);
let v198 = v188 * v197;
var<function> v233_store: f32;
let v233 = &v233_store;
*v233 = v198;
let v200 = *v231;
let v201 = v200 == v183;
if v201 {
let v202 = *v233;
let v203 = v202 + v167;
*v233 = v203;

}
let v204 = *v231;
let v205 = v33 + v204;
let v209 = &(*v247)[v205];
let v210 = *v233;
*v209 = v210;
let v213 = v204 + v36;
*v231 = v213;

}

}
return;

}
