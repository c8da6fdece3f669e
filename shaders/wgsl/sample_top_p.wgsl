var<workgroup> shared_v20: array<f32, 256>;
var<workgroup> shared_v24: array<u32, 256>;
var<workgroup> shared_v487: array<u32, 1>;
var<workgroup> shared_v491: array<f32, 2>;
@group(0) @binding(2) var<storage, read_write> v9: array<f32>;
@group(0) @binding(1) var<storage, read_write> v5: array<f32>;
@group(0) @binding(0) var<storage, read_write> v1: array<f32>;
struct info_st { scalars_u32: array<u32, 2>, static_meta: array<u32, 4> }
@group(0) @binding(3) var<storage, read> info_var: info_st;
@compute @workgroup_size(256, 1, 1)
fn sample_kernel_64c61724(@builtin(local_invocation_id) v755: vec3<u32>, @builtin(workgroup_id) v757: vec3<u32>) {
let v786 = &v9;
let v787 = &v5;
let v788 = &v1;
let v3 = u32(0);
let v13 = info_var.scalars_u32[0];
let v756 = v755[0];
let v15 = u32(v756);
let v758 = v757[0];
let v17 = u32(v758);
let v18 = u32(v13);
let v19 = v17 * v18;
let v704 = &shared_v20;
let v22 = u32(256);
let v705 = &shared_v24;
let v28 = f32(-3.3999999521443642e38);
var<function> v706_store: f32;
let v706 = &v706_store;
*v706 = v28;
let v31 = u32(4294967295);
var<function> v707_store: u32;
let v707 = &v707_store;
*v707 = v31;
var<function> v708_store: u32;
let v708 = &v708_store;
*v708 = v15;
loop {
let v35 = *v708;
let v36 = v35 < v18;
if !v36 { break; }
let v38 = *v708;
let v39 = v19 + v38;
let v43 = &(*v788)[v39];
let v44 = *v43;
let v45 = *v706;
let v46 = v44 > v45;
if v46 {
*v706 = v44;
let v47 = *v708;
let v48 = u32(v47);
*v707 = v48;

}
let v49 = *v708;
let v51 = v49 + v22;
*v708 = v51;

}
let v55 = &(*v704)[v15];
let v56 = *v706;
*v55 = v56;
let v60 = &(*v705)[v15];
let v61 = *v707;
*v60 = v61;
workgroupBarrier();
let v64 = u32(2);
let v774 = u32(128);
var<function> v710_store: u32;
let v710 = &v710_store;
*v710 = v774;
loop {
let v67 = *v710;
let v69 = v67 > v3;
if !v69 { break; }
let v71 = *v710;
let v72 = v15 < v71;
if v72 {
let v77 = *v55;
let v79 = v15 + v71;
let v83 = &(*v704)[v79];
let v84 = *v83;
let v85 = v84 > v77;
let v86 = true;
var<function> v712_store: bool;
let v712 = &v712_store;
if v85 {
*v712 = v86;

} else {
let v89 = v84 == v77;
var<function> v713_store: bool;
let v713 = &v713_store;
if v89 {
let v90 = *v710;
let v91 = v15 + v90;
let v95 = &(*v705)[v91];
let v96 = *v95;
let v101 = *v60;
let v102 = v96 < v101;
*v713 = v102;

} else {
let v104 = false;
*v713 = v104;

}
let v105 = *v713;
*v712 = v105;

}
let v106 = *v712;
if v106 {
*v55 = v84;
let v111 = *v710;
let v112 = v15 + v111;
let v116 = &(*v705)[v112];
let v117 = *v116;
*v60 = v117;

}

}
workgroupBarrier();
let v122 = *v710;
let v124 = v122 / v64;
*v710 = v124;

}
let v129 = &(*v704)[v3];
let v130 = *v129;
let v135 = &(*v705)[v3];
let v136 = *v135;
workgroupBarrier();
let v137 = f32(0.0);
var<function> v714_store: f32;
let v714 = &v714_store;
*v714 = v137;
var<function> v715_store: u32;
let v715 = &v715_store;
*v715 = v15;
loop {
let v141 = *v715;
let v142 = v141 < v18;
if !v142 { break; }
let v144 = *v715;
let v145 = v19 + v144;
let v149 = &(*v788)[v145];
let v150 = *v149;
let v151 = v150 - v130;
let v152 = exp(v151);
let v153 = *v714;
let v154 = v153 + v152;
*v714 = v154;
let v155 = *v715;
let v157 = v155 + v22;
*v715 = v157;

}
let v162 = *v714;
*v55 = v162;
workgroupBarrier();
var<function> v717_store: u32;
let v717 = &v717_store;
*v717 = v774;
loop {
let v168 = *v717;
let v170 = v168 > v3;
if !v170 { break; }
let v172 = *v717;
let v173 = v15 < v172;
if v173 {
let v178 = *v55;
let v180 = v15 + v172;
let v184 = &(*v704)[v180];
let v185 = *v184;
let v186 = v178 + v185;
*v55 = v186;

}
workgroupBarrier();
let v191 = *v717;
let v193 = v191 / v64;
*v717 = v193;

}
let v199 = *v129;
workgroupBarrier();
let v200 = log(v199);
let v201 = v130 + v200;
var<function> v719_store: u32;
let v719 = &v719_store;
*v719 = v136;
let v203 = u32(4);
let v204 = v17 * v203;
let v208 = &(*v787)[v204];
let v209 = *v208;
let v212 = u32(1);
let v213 = v204 + v212;
let v217 = &(*v787)[v213];
let v218 = *v217;
let v219 = u32(v218);
let v223 = v204 + v64;
let v227 = &(*v787)[v223];
let v228 = *v227;
let v231 = u32(3);
let v232 = v204 + v231;
let v236 = &(*v787)[v232];
let v237 = *v236;
let v239 = v209 > v137;
let v240 = u32(1);
let v241 = v219 != v240;
let v242 = v239 && v241;
let v243 = f32(1.0);
let v244 = v243 / v209;
let v246 = select(v243, v244, v242);
let v247 = u32(0);
var<function> v720_store: u32;
let v720 = &v720_store;
*v720 = v247;
var<function> v721_store: f32;
let v721 = &v721_store;
*v721 = v137;
var<function> v722_store: u32;
let v722 = &v722_store;
*v722 = v15;
loop {
let v254 = *v722;
let v255 = v254 < v18;
if !v255 { break; }
let v257 = *v722;
let v258 = v19 + v257;
let v262 = &(*v788)[v258];
let v263 = *v262;
let v264 = bitcast<u32>(v263);
let v265 = u32(2147483648);
let v266 = v264 & v265;
let v268 = v266 != v247;
var<function> v724_store: u32;
let v724 = &v724_store;
if v268 {
let v269 = ~v264;
*v724 = v269;

} else {
let v272 = v264 | v265;
*v724 = v272;

}
let v273 = *v724;
let v274 = *v720;
let v275 = v273 >= v274;
let v276 = v263 - v130;
let v277 = v276 * v246;
let v278 = exp(v277);
let v280 = select(v137, v278, v275);
let v281 = *v721;
let v282 = v281 + v280;
*v721 = v282;
let v283 = *v722;
let v285 = v283 + v22;
*v722 = v285;

}
let v290 = *v721;
*v55 = v290;
workgroupBarrier();
var<function> v725_store: u32;
let v725 = &v725_store;
*v725 = v774;
loop {
let v296 = *v725;
let v298 = v296 > v3;
if !v298 { break; }
let v300 = *v725;
let v301 = v15 < v300;
if v301 {
let v306 = *v55;
let v308 = v15 + v300;
let v312 = &(*v704)[v308];
let v313 = *v312;
let v314 = v306 + v313;
*v55 = v314;

}
workgroupBarrier();
let v319 = *v725;
let v321 = v319 / v64;
*v725 = v321;

}
let v327 = *v129;
workgroupBarrier();
let v328 = v228 * v327;
var<function> v727_store: u32;
let v727 = &v727_store;
let v330 = *v720;
*v727 = v330;
let v331 = bitcast<u32>(v130);
let v332 = u32(2147483648);
let v333 = v331 & v332;
let v335 = v333 != v247;
var<function> v728_store: u32;
let v728 = &v728_store;
if v335 {
let v336 = ~v331;
*v728 = v336;

} else {
let v339 = v331 | v332;
*v728 = v339;

}
var<function> v729_store: u32;
let v729 = &v729_store;
let v341 = *v728;
*v729 = v341;
let v343 = u32(32);
for(var v345: u32 = v247; v345 < v343; v345 += v240) {
let v347 = *v729;
let v348 = *v727;
let v349 = v347 - v348;
let v351 = v349 + v240;
let v352 = u32(2);
let v353 = v351 / v352;
let v355 = v348 + v353;
var<function> v731_store: f32;
let v731 = &v731_store;
*v731 = v137;
var<function> v732_store: u32;
let v732 = &v732_store;
*v732 = v15;
loop {
let v360 = *v732;
let v361 = v360 < v18;
if !v361 { break; }
let v363 = *v732;
let v364 = v19 + v363;
let v368 = &(*v788)[v364];
let v369 = *v368;
let v370 = bitcast<u32>(v369);
let v372 = v370 & v332;
let v374 = v372 != v247;
var<function> v734_store: u32;
let v734 = &v734_store;
if v374 {
let v375 = ~v370;
*v734 = v375;

} else {
let v378 = v370 | v332;
*v734 = v378;

}
let v379 = *v734;
let v380 = v379 >= v355;
let v381 = v369 - v130;
let v382 = v381 * v246;
let v383 = exp(v382);
let v385 = select(v137, v383, v380);
let v386 = *v731;
let v387 = v386 + v385;
*v731 = v387;
let v388 = *v732;
let v390 = v388 + v22;
*v732 = v390;

}
let v395 = *v731;
*v55 = v395;
workgroupBarrier();
var<function> v735_store: u32;
let v735 = &v735_store;
*v735 = v774;
loop {
let v401 = *v735;
let v403 = v401 > v3;
if !v403 { break; }
let v405 = *v735;
let v406 = v15 < v405;
if v406 {
let v411 = *v55;
let v413 = v15 + v405;
let v417 = &(*v704)[v413];
let v418 = *v417;
let v419 = v411 + v418;
*v55 = v419;

}
workgroupBarrier();
let v424 = *v735;
let v426 = v424 / v64;
*v735 = v426;

}
let v432 = *v129;
workgroupBarrier();
let v433 = v432 >= v328;
if v433 {
*v727 = v355;

} else {
let v435 = v355 - v240;
*v729 = v435;

}

}
let v437 = v228 < v243;
let v438 = *v727;
let v439 = *v720;
let v440 = select(v439, v438, v437);
*v720 = v440;
let v442 = v18 + v22;
let v444 = v442 - v212;
let v446 = v444 / v22;
let v447 = v15 * v446;
let v448 = min(v447, v18);
let v449 = v448 + v446;
let v450 = min(v449, v18);
var<function> v737_store: f32;
let v737 = &v737_store;
*v737 = v137;
for(var v455: u32 = v448; v455 < v450; v455 += v212) {
let v457 = v19 + v455;
let v461 = &(*v788)[v457];
let v462 = *v461;
let v463 = bitcast<u32>(v462);
let v465 = v463 & v332;
let v467 = v465 != v247;
var<function> v739_store: u32;
let v739 = &v739_store;
if v467 {
let v468 = ~v463;
*v739 = v468;

} else {
let v471 = v463 | v332;
*v739 = v471;

}
let v472 = *v739;
let v473 = *v720;
let v474 = v472 >= v473;
let v475 = v462 - v130;
let v476 = v475 * v246;
let v477 = exp(v476);
let v479 = select(v137, v477, v474);
let v480 = *v737;
let v481 = v480 + v479;
*v737 = v481;

}
let v486 = *v737;
*v55 = v486;
let v740 = &shared_v487;
let v741 = &shared_v491;
workgroupBarrier();
let v496 = v15 == v3;
if v496 {
var<function> v742_store: f32;
let v742 = &v742_store;
*v742 = v137;
for(var v504: u32 = v3; v504 < v22; v504 += v212) {
let v509 = &(*v704)[v504];
let v510 = *v509;
let v511 = *v742;
let v512 = v511 + v510;
*v742 = v512;

}
let v513 = *v742;
let v514 = v237 * v513;
var<function> v744_store: f32;
let v744 = &v744_store;
*v744 = v137;
var<function> v745_store: u32;
let v745 = &v745_store;
*v745 = v31;
var<function> v746_store: f32;
let v746 = &v746_store;
*v746 = v137;
var<function> v747_store: u32;
let v747 = &v747_store;
*v747 = v247;
var<function> v748_store: f32;
let v748 = &v748_store;
*v748 = v137;
for(var v534: u32 = v3; v534 < v22; v534 += v212) {
let v539 = &(*v704)[v534];
let v540 = *v539;
let v542 = v540 > v137;
if v542 {
let v543 = u32(v534);
*v747 = v543;
let v544 = *v744;
*v748 = v544;
let v545 = *v745;
let v547 = v545 == v31;
let v548 = *v744;
let v549 = v548 + v540;
let v550 = v549 > v514;
let v551 = v547 && v550;
if v551 {
*v745 = v543;
let v553 = *v744;
*v746 = v553;

}

}
let v554 = *v744;
let v555 = v554 + v540;
*v744 = v555;

}
let v556 = *v745;
let v558 = v556 == v31;
if v558 {
let v559 = *v747;
*v745 = v559;
let v560 = *v748;
*v746 = v560;

}
let v565 = &(*v740)[v3];
let v566 = *v745;
*v565 = v566;
let v571 = &(*v741)[v3];
let v572 = *v746;
*v571 = v572;
let v577 = &(*v741)[v212];
*v577 = v514;

}
workgroupBarrier();
let v578 = u32(v15);
let v583 = &(*v740)[v3];
let v584 = *v583;
let v585 = v578 == v584;
if v585 {
let v590 = &(*v741)[v212];
let v591 = *v590;
let v596 = &(*v741)[v3];
let v597 = *v596;
var<function> v750_store: f32;
let v750 = &v750_store;
*v750 = v597;
var<function> v751_store: u32;
let v751 = &v751_store;
*v751 = v31;
let v602 = u32(v448);
var<function> v752_store: u32;
let v752 = &v752_store;
*v752 = v602;
for(var v605: u32 = v448; v605 < v450; v605 += v212) {
let v607 = v19 + v605;
let v611 = &(*v788)[v607];
let v612 = *v611;
let v613 = bitcast<u32>(v612);
let v615 = v613 & v332;
let v617 = v615 != v247;
var<function> v754_store: u32;
let v754 = &v754_store;
if v617 {
let v618 = ~v613;
*v754 = v618;

} else {
let v621 = v613 | v332;
*v754 = v621;

}
let v622 = *v754;
let v623 = *v720;
let v624 = v622 >= v623;
if v624 {
let v625 = u32(v605);
*v752 = v625;
let v626 = v612 - v130;
let v627 = v626 * v246;
let v628 = exp(v627);
let v629 = *v750;
let v630 = v629 + v628;
*v750 = v630;
let v631 = *v751;
let v633 = v631 == v31;
let v634 = *v750;
let v635 = v634 > v591;
let v636 = v633 && v635;
if v636 {
*v751 = v625;

}

}

}
let v638 = *v751;
let v640 = v638 == v31;
if v640 {
let v641 = *v752;
*v751 = v641;

}
if v242 {
let v642 = *v751;
let v643 = f32(v642);
let v645 = v17 * v64;
let v649 = &(*v786)[v645];
*v649 = v643;
let v651 = u32(v642);
let v652 = v19 + v651;
let v656 = &(*v788)[v652];
let v657 = *v656;
let v658 = v657 - v201;
let v662 = v645 + v212;
let v666 = &(*v786)[v662];
*v666 = v658;

}

}
let v668 = select(v136, v31, v242);
*v719 = v668;
let v671 = *v719;
let v673 = v671 != v31;
let v674 = v496 && v673;
if v674 {
let v676 = f32(v671);
let v678 = v17 * v64;
let v682 = &(*v786)[v678];
*v682 = v676;
let v684 = u32(v671);
let v685 = v19 + v684;
let v689 = &(*v788)[v685];
let v690 = *v689;
let v691 = v690 - v201;
let v695 = v678 + v212;
let v699 = &(*v786)[v695];
*v699 = v691;

}
return;

}
