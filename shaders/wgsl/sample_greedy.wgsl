var<workgroup> shared_v20: array<f32, 256>;
var<workgroup> shared_v24: array<u32, 256>;
@group(0) @binding(2) var<storage, read_write> v9: array<f32>;
@group(0) @binding(1) var<storage, read_write> v5: array<f32>;
@group(0) @binding(0) var<storage, read_write> v1: array<f32>;
struct info_st { scalars_u32: array<u32, 2>, static_meta: array<u32, 4> }
@group(0) @binding(3) var<storage, read> info_var: info_st;
@compute @workgroup_size(256, 1, 1)
fn sample_kernel_9a22259e(@builtin(local_invocation_id) v254: vec3<u32>, @builtin(workgroup_id) v256: vec3<u32>) {
let v267 = &v9;
let v268 = &v5;
let v269 = &v1;
let v3 = u32(0);
let v13 = info_var.scalars_u32[0];
let v255 = v254[0];
let v15 = u32(v255);
let v257 = v256[0];
let v17 = u32(v257);
let v18 = u32(v13);
let v19 = v17 * v18;
let v238 = &shared_v20;
let v22 = u32(256);
let v239 = &shared_v24;
let v28 = f32(-3.3999999521443642e38);
var<function> v240_store: f32;
let v240 = &v240_store;
*v240 = v28;
let v31 = u32(4294967295);
var<function> v241_store: u32;
let v241 = &v241_store;
*v241 = v31;
var<function> v242_store: u32;
let v242 = &v242_store;
*v242 = v15;
loop {
let v35 = *v242;
let v36 = v35 < v18;
if !v36 { break; }
let v38 = *v242;
let v39 = v19 + v38;
let v43 = &(*v269)[v39];
let v44 = *v43;
let v45 = *v240;
let v46 = v44 > v45;
if v46 {
*v240 = v44;
let v47 = *v242;
let v48 = u32(v47);
*v241 = v48;

}
let v49 = *v242;
let v51 = v49 + v22;
*v242 = v51;

}
let v55 = &(*v238)[v15];
let v56 = *v240;
*v55 = v56;
let v60 = &(*v239)[v15];
let v61 = *v241;
*v60 = v61;
workgroupBarrier();
let v64 = u32(2);
let v265 = u32(128);
var<function> v244_store: u32;
let v244 = &v244_store;
*v244 = v265;
loop {
let v67 = *v244;
let v69 = v67 > v3;
if !v69 { break; }
let v71 = *v244;
let v72 = v15 < v71;
if v72 {
let v77 = *v55;
let v79 = v15 + v71;
let v83 = &(*v238)[v79];
let v84 = *v83;
let v85 = v84 > v77;
let v86 = true;
var<function> v246_store: bool;
let v246 = &v246_store;
if v85 {
*v246 = v86;

} else {
let v89 = v84 == v77;
var<function> v247_store: bool;
let v247 = &v247_store;
if v89 {
let v90 = *v244;
let v91 = v15 + v90;
let v95 = &(*v239)[v91];
let v96 = *v95;
let v101 = *v60;
let v102 = v96 < v101;
*v247 = v102;

} else {
let v104 = false;
*v247 = v104;

}
let v105 = *v247;
*v246 = v105;

}
let v106 = *v246;
if v106 {
*v55 = v84;
let v111 = *v244;
let v112 = v15 + v111;
let v116 = &(*v239)[v112];
let v117 = *v116;
*v60 = v117;

}

}
workgroupBarrier();
let v122 = *v244;
let v124 = v122 / v64;
*v244 = v124;

}
let v129 = &(*v238)[v3];
let v130 = *v129;
let v135 = &(*v239)[v3];
let v136 = *v135;
workgroupBarrier();
let v137 = f32(0.0);
var<function> v248_store: f32;
let v248 = &v248_store;
*v248 = v137;
var<function> v249_store: u32;
let v249 = &v249_store;
*v249 = v15;
loop {
let v141 = *v249;
let v142 = v141 < v18;
if !v142 { break; }
let v144 = *v249;
let v145 = v19 + v144;
let v149 = &(*v269)[v145];
let v150 = *v149;
let v151 = v150 - v130;
let v152 = exp(v151);
let v153 = *v248;
let v154 = v153 + v152;
*v248 = v154;
let v155 = *v249;
let v157 = v155 + v22;
*v249 = v157;

}
let v162 = *v248;
*v55 = v162;
workgroupBarrier();
var<function> v251_store: u32;
let v251 = &v251_store;
*v251 = v265;
loop {
let v168 = *v251;
let v170 = v168 > v3;
if !v170 { break; }
let v172 = *v251;
let v173 = v15 < v172;
if v173 {
let v178 = *v55;
let v180 = v15 + v172;
let v184 = &(*v238)[v180];
let v185 = *v184;
let v186 = v178 + v185;
*v55 = v186;

}
workgroupBarrier();
let v191 = *v251;
let v193 = v191 / v64;
*v251 = v193;

}
let v199 = *v129;
workgroupBarrier();
let v200 = log(v199);
let v201 = v130 + v200;
var<function> v253_store: u32;
let v253 = &v253_store;
*v253 = v136;
let v204 = v15 == v3;
let v205 = *v253;
let v207 = v205 != v31;
let v208 = v204 && v207;
if v208 {
let v210 = f32(v205);
let v212 = v17 * v64;
let v216 = &(*v267)[v212];
*v216 = v210;
let v218 = u32(v205);
let v219 = v19 + v218;
let v223 = &(*v269)[v219];
let v224 = *v223;
let v225 = v224 - v201;
let v228 = u32(1);
let v229 = v212 + v228;
let v233 = &(*v267)[v229];
*v233 = v225;

}
return;

}
