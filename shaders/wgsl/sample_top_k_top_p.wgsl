var<workgroup> shared_v20: array<f32, 256>;
var<workgroup> shared_v24: array<u32, 256>;
var<workgroup> shared_v600: array<u32, 1>;
var<workgroup> shared_v604: array<f32, 2>;
@group(0) @binding(2) var<storage, read_write> v9: array<f32>;
@group(0) @binding(1) var<storage, read_write> v5: array<f32>;
@group(0) @binding(0) var<storage, read_write> v1: array<f32>;
struct info_st { scalars_u32: array<u32, 2>, static_meta: array<u32, 4> }
@group(0) @binding(3) var<storage, read> info_var: info_st;
@compute @workgroup_size(256, 1, 1)
fn sample_kernel_9907641d(@builtin(local_invocation_id) v878: vec3<u32>, @builtin(workgroup_id) v880: vec3<u32>) {
let v913 = &v9;
let v914 = &v5;
let v915 = &v1;
let v3 = u32(0);
let v13 = info_var.scalars_u32[0];
let v879 = v878[0];
let v15 = u32(v879);
let v881 = v880[0];
let v17 = u32(v881);
let v18 = u32(v13);
let v19 = v17 * v18;
let v817 = &shared_v20;
let v22 = u32(256);
let v818 = &shared_v24;
let v28 = f32(-3.3999999521443642e38);
var<function> v819_store: f32;
let v819 = &v819_store;
*v819 = v28;
let v31 = u32(4294967295);
var<function> v820_store: u32;
let v820 = &v820_store;
*v820 = v31;
var<function> v821_store: u32;
let v821 = &v821_store;
*v821 = v15;
loop {
let v35 = *v821;
let v36 = v35 < v18;
if !v36 { break; }
let v38 = *v821;
let v39 = v19 + v38;
let v43 = &(*v915)[v39];
let v44 = *v43;
let v45 = *v819;
let v46 = v44 > v45;
if v46 {
*v819 = v44;
let v47 = *v821;
let v48 = u32(v47);
*v820 = v48;

}
let v49 = *v821;
let v51 = v49 + v22;
*v821 = v51;

}
let v55 = &(*v817)[v15];
let v56 = *v819;
*v55 = v56;
let v60 = &(*v818)[v15];
let v61 = *v820;
*v60 = v61;
workgroupBarrier();
let v64 = u32(2);
let v898 = u32(128);
var<function> v823_store: u32;
let v823 = &v823_store;
*v823 = v898;
loop {
let v67 = *v823;
let v69 = v67 > v3;
if !v69 { break; }
let v71 = *v823;
let v72 = v15 < v71;
if v72 {
let v77 = *v55;
let v79 = v15 + v71;
let v83 = &(*v817)[v79];
let v84 = *v83;
let v85 = v84 > v77;
let v86 = true;
var<function> v825_store: bool;
let v825 = &v825_store;
if v85 {
*v825 = v86;

} else {
let v89 = v84 == v77;
var<function> v826_store: bool;
let v826 = &v826_store;
if v89 {
let v90 = *v823;
let v91 = v15 + v90;
let v95 = &(*v818)[v91];
let v96 = *v95;
let v101 = *v60;
let v102 = v96 < v101;
*v826 = v102;

} else {
let v104 = false;
*v826 = v104;

}
let v105 = *v826;
*v825 = v105;

}
let v106 = *v825;
if v106 {
*v55 = v84;
let v111 = *v823;
let v112 = v15 + v111;
let v116 = &(*v818)[v112];
let v117 = *v116;
*v60 = v117;

}

}
workgroupBarrier();
let v122 = *v823;
let v124 = v122 / v64;
*v823 = v124;

}
let v129 = &(*v817)[v3];
let v130 = *v129;
let v135 = &(*v818)[v3];
let v136 = *v135;
workgroupBarrier();
let v137 = f32(0.0);
var<function> v827_store: f32;
let v827 = &v827_store;
*v827 = v137;
var<function> v828_store: u32;
let v828 = &v828_store;
*v828 = v15;
loop {
let v141 = *v828;
let v142 = v141 < v18;
if !v142 { break; }
let v144 = *v828;
let v145 = v19 + v144;
let v149 = &(*v915)[v145];
let v150 = *v149;
let v151 = v150 - v130;
let v152 = exp(v151);
let v153 = *v827;
let v154 = v153 + v152;
*v827 = v154;
let v155 = *v828;
let v157 = v155 + v22;
*v828 = v157;

}
let v162 = *v827;
*v55 = v162;
workgroupBarrier();
var<function> v830_store: u32;
let v830 = &v830_store;
*v830 = v898;
loop {
let v168 = *v830;
let v170 = v168 > v3;
if !v170 { break; }
let v172 = *v830;
let v173 = v15 < v172;
if v173 {
let v178 = *v55;
let v180 = v15 + v172;
let v184 = &(*v817)[v180];
let v185 = *v184;
let v186 = v178 + v185;
*v55 = v186;

}
workgroupBarrier();
let v191 = *v830;
let v193 = v191 / v64;
*v830 = v193;

}
let v199 = *v129;
workgroupBarrier();
let v200 = log(v199);
let v201 = v130 + v200;
var<function> v832_store: u32;
let v832 = &v832_store;
*v832 = v136;
let v203 = u32(4);
let v204 = v17 * v203;
let v208 = &(*v914)[v204];
let v209 = *v208;
let v212 = u32(1);
let v213 = v204 + v212;
let v217 = &(*v914)[v213];
let v218 = *v217;
let v219 = u32(v218);
let v223 = v204 + v64;
let v227 = &(*v914)[v223];
let v228 = *v227;
let v231 = u32(3);
let v232 = v204 + v231;
let v236 = &(*v914)[v232];
let v237 = *v236;
let v239 = v209 > v137;
let v240 = u32(1);
let v241 = v219 != v240;
let v242 = v239 && v241;
let v243 = f32(1.0);
let v244 = v243 / v209;
let v246 = select(v243, v244, v242);
let v247 = u32(0);
var<function> v833_store: u32;
let v833 = &v833_store;
*v833 = v247;
var<function> v834_store: u32;
let v834 = &v834_store;
*v834 = v247;
let v253 = bitcast<u32>(v130);
let v254 = u32(2147483648);
let v255 = v253 & v254;
let v257 = v255 != v247;
var<function> v835_store: u32;
let v835 = &v835_store;
if v257 {
let v258 = ~v253;
*v835 = v258;

} else {
let v261 = v253 | v254;
*v835 = v261;

}
var<function> v836_store: u32;
let v836 = &v836_store;
let v263 = *v835;
*v836 = v263;
let v265 = u32(32);
for(var v267: u32 = v247; v267 < v265; v267 += v240) {
let v269 = *v836;
let v270 = *v834;
let v271 = v269 - v270;
let v273 = v271 + v240;
let v274 = u32(2);
let v275 = v273 / v274;
let v277 = v270 + v275;
var<function> v838_store: u32;
let v838 = &v838_store;
*v838 = v247;
var<function> v839_store: u32;
let v839 = &v839_store;
*v839 = v15;
loop {
let v282 = *v839;
let v283 = v282 < v18;
if !v283 { break; }
let v285 = *v839;
let v286 = v19 + v285;
let v290 = &(*v915)[v286];
let v291 = *v290;
let v292 = bitcast<u32>(v291);
let v294 = v292 & v254;
let v296 = v294 != v247;
var<function> v841_store: u32;
let v841 = &v841_store;
if v296 {
let v297 = ~v292;
*v841 = v297;

} else {
let v300 = v292 | v254;
*v841 = v300;

}
let v301 = *v841;
let v302 = v301 >= v277;
let v305 = select(v247, v240, v302);
let v306 = *v838;
let v307 = v306 + v305;
*v838 = v307;
let v308 = *v839;
let v310 = v308 + v22;
*v839 = v310;

}
let v315 = *v838;
*v60 = v315;
workgroupBarrier();
var<function> v842_store: u32;
let v842 = &v842_store;
*v842 = v898;
loop {
let v321 = *v842;
let v323 = v321 > v3;
if !v323 { break; }
let v325 = *v842;
let v326 = v15 < v325;
if v326 {
let v331 = *v60;
let v333 = v15 + v325;
let v337 = &(*v818)[v333];
let v338 = *v337;
let v339 = v331 + v338;
*v60 = v339;

}
workgroupBarrier();
let v344 = *v842;
let v346 = v344 / v64;
*v842 = v346;

}
let v352 = *v135;
workgroupBarrier();
let v353 = v352 >= v219;
if v353 {
*v834 = v277;

} else {
let v355 = v277 - v240;
*v836 = v355;

}

}
let v357 = v219 > v247;
let v358 = v219 < v13;
let v359 = v357 && v358;
let v360 = *v834;
let v362 = select(v247, v360, v359);
*v833 = v362;
var<function> v844_store: f32;
let v844 = &v844_store;
*v844 = v137;
var<function> v845_store: u32;
let v845 = &v845_store;
*v845 = v15;
loop {
let v367 = *v845;
let v368 = v367 < v18;
if !v368 { break; }
let v370 = *v845;
let v371 = v19 + v370;
let v375 = &(*v915)[v371];
let v376 = *v375;
let v377 = bitcast<u32>(v376);
let v379 = v377 & v254;
let v381 = v379 != v247;
var<function> v847_store: u32;
let v847 = &v847_store;
if v381 {
let v382 = ~v377;
*v847 = v382;

} else {
let v385 = v377 | v254;
*v847 = v385;

}
let v386 = *v847;
let v387 = *v833;
let v388 = v386 >= v387;
let v389 = v376 - v130;
let v390 = v389 * v246;
let v391 = exp(v390);
let v393 = select(v137, v391, v388);
let v394 = *v844;
let v395 = v394 + v393;
*v844 = v395;
let v396 = *v845;
let v398 = v396 + v22;
*v845 = v398;

}
let v403 = *v844;
*v55 = v403;
workgroupBarrier();
var<function> v848_store: u32;
let v848 = &v848_store;
*v848 = v898;
loop {
let v409 = *v848;
let v411 = v409 > v3;
if !v411 { break; }
let v413 = *v848;
let v414 = v15 < v413;
if v414 {
let v419 = *v55;
let v421 = v15 + v413;
let v425 = &(*v817)[v421];
let v426 = *v425;
let v427 = v419 + v426;
*v55 = v427;

}
workgroupBarrier();
let v432 = *v848;
let v434 = v432 / v64;
*v848 = v434;

}
let v440 = *v129;
workgroupBarrier();
let v441 = v228 * v440;
var<function> v850_store: u32;
let v850 = &v850_store;
let v443 = *v833;
*v850 = v443;
var<function> v851_store: u32;
let v851 = &v851_store;
if v257 {
let v449 = ~v253;
*v851 = v449;

} else {
let v452 = v253 | v254;
*v851 = v452;

}
var<function> v852_store: u32;
let v852 = &v852_store;
let v454 = *v851;
*v852 = v454;
for(var v458: u32 = v247; v458 < v265; v458 += v240) {
let v460 = *v852;
let v461 = *v850;
let v462 = v460 - v461;
let v464 = v462 + v240;
let v465 = u32(2);
let v466 = v464 / v465;
let v468 = v461 + v466;
var<function> v854_store: f32;
let v854 = &v854_store;
*v854 = v137;
var<function> v855_store: u32;
let v855 = &v855_store;
*v855 = v15;
loop {
let v473 = *v855;
let v474 = v473 < v18;
if !v474 { break; }
let v476 = *v855;
let v477 = v19 + v476;
let v481 = &(*v915)[v477];
let v482 = *v481;
let v483 = bitcast<u32>(v482);
let v485 = v483 & v254;
let v487 = v485 != v247;
var<function> v857_store: u32;
let v857 = &v857_store;
if v487 {
let v488 = ~v483;
*v857 = v488;

} else {
let v491 = v483 | v254;
*v857 = v491;

}
let v492 = *v857;
let v493 = v492 >= v468;
let v494 = v482 - v130;
let v495 = v494 * v246;
let v496 = exp(v495);
let v498 = select(v137, v496, v493);
let v499 = *v854;
let v500 = v499 + v498;
*v854 = v500;
let v501 = *v855;
let v503 = v501 + v22;
*v855 = v503;

}
let v508 = *v854;
*v55 = v508;
workgroupBarrier();
var<function> v858_store: u32;
let v858 = &v858_store;
*v858 = v898;
loop {
let v514 = *v858;
let v516 = v514 > v3;
if !v516 { break; }
let v518 = *v858;
let v519 = v15 < v518;
if v519 {
let v524 = *v55;
let v526 = v15 + v518;
let v530 = &(*v817)[v526];
let v531 = *v530;
let v532 = v524 + v531;
*v55 = v532;

}
workgroupBarrier();
let v537 = *v858;
let v539 = v537 / v64;
*v858 = v539;

}
let v545 = *v129;
workgroupBarrier();
let v546 = v545 >= v441;
if v546 {
*v850 = v468;

} else {
let v548 = v468 - v240;
*v852 = v548;

}

}
let v550 = v228 < v243;
let v551 = *v850;
let v552 = *v833;
let v553 = select(v552, v551, v550);
*v833 = v553;
let v555 = v18 + v22;
let v557 = v555 - v212;
let v559 = v557 / v22;
let v560 = v15 * v559;
let v561 = min(v560, v18);
let v562 = v561 + v559;
let v563 = min(v562, v18);
var<function> v860_store: f32;
let v860 = &v860_store;
*v860 = v137;
for(var v568: u32 = v561; v568 < v563; v568 += v212) {
let v570 = v19 + v568;
let v574 = &(*v915)[v570];
let v575 = *v574;
let v576 = bitcast<u32>(v575);
let v578 = v576 & v254;
let v580 = v578 != v247;
var<function> v862_store: u32;
let v862 = &v862_store;
if v580 {
let v581 = ~v576;
*v862 = v581;

} else {
let v584 = v576 | v254;
*v862 = v584;

}
let v585 = *v862;
let v586 = *v833;
let v587 = v585 >= v586;
let v588 = v575 - v130;
let v589 = v588 * v246;
let v590 = exp(v589);
let v592 = select(v137, v590, v587);
let v593 = *v860;
let v594 = v593 + v592;
*v860 = v594;

}
let v599 = *v860;
*v55 = v599;
let v863 = &shared_v600;
let v864 = &shared_v604;
workgroupBarrier();
let v609 = v15 == v3;
if v609 {
var<function> v865_store: f32;
let v865 = &v865_store;
*v865 = v137;
for(var v617: u32 = v3; v617 < v22; v617 += v212) {
let v622 = &(*v817)[v617];
let v623 = *v622;
let v624 = *v865;
let v625 = v624 + v623;
*v865 = v625;

}
let v626 = *v865;
let v627 = v237 * v626;
var<function> v867_store: f32;
let v867 = &v867_store;
*v867 = v137;
var<function> v868_store: u32;
let v868 = &v868_store;
*v868 = v31;
var<function> v869_store: f32;
let v869 = &v869_store;
*v869 = v137;
var<function> v870_store: u32;
let v870 = &v870_store;
*v870 = v247;
var<function> v871_store: f32;
let v871 = &v871_store;
*v871 = v137;
for(var v647: u32 = v3; v647 < v22; v647 += v212) {
let v652 = &(*v817)[v647];
let v653 = *v652;
let v655 = v653 > v137;
if v655 {
let v656 = u32(v647);
*v870 = v656;
let v657 = *v867;
*v871 = v657;
let v658 = *v868;
let v660 = v658 == v31;
let v661 = *v867;
let v662 = v661 + v653;
let v663 = v662 > v627;
let v664 = v660 && v663;
if v664 {
*v868 = v656;
let v666 = *v867;
*v869 = v666;

}

}
let v667 = *v867;
let v668 = v667 + v653;
*v867 = v668;

}
let v669 = *v868;
let v671 = v669 == v31;
if v671 {
let v672 = *v870;
*v868 = v672;
let v673 = *v871;
*v869 = v673;

}
let v678 = &(*v863)[v3];
let v679 = *v868;
*v678 = v679;
let v684 = &(*v864)[v3];
let v685 = *v869;
*v684 = v685;
let v690 = &(*v864)[v212];
*v690 = v627;

}
workgroupBarrier();
let v691 = u32(v15);
let v696 = &(*v863)[v3];
let v697 = *v696;
let v698 = v691 == v697;
if v698 {
let v703 = &(*v864)[v212];
let v704 = *v703;
let v709 = &(*v864)[v3];
let v710 = *v709;
var<function> v873_store: f32;
let v873 = &v873_store;
*v873 = v710;
var<function> v874_store: u32;
let v874 = &v874_store;
*v874 = v31;
let v715 = u32(v561);
var<function> v875_store: u32;
let v875 = &v875_store;
*v875 = v715;
for(var v718: u32 = v561; v718 < v563; v718 += v212) {
let v720 = v19 + v718;
let v724 = &(*v915)[v720];
let v725 = *v724;
let v726 = bitcast<u32>(v725);
let v728 = v726 & v254;
let v730 = v728 != v247;
var<function> v877_store: u32;
let v877 = &v877_store;
if v730 {
let v731 = ~v726;
*v877 = v731;

} else {
let v734 = v726 | v254;
*v877 = v734;

}
let v735 = *v877;
let v736 = *v833;
let v737 = v735 >= v736;
if v737 {
let v738 = u32(v718);
*v875 = v738;
let v739 = v725 - v130;
let v740 = v739 * v246;
let v741 = exp(v740);
let v742 = *v873;
let v743 = v742 + v741;
*v873 = v743;
let v744 = *v874;
let v746 = v744 == v31;
let v747 = *v873;
let v748 = v747 > v704;
let v749 = v746 && v748;
if v749 {
*v874 = v738;

}

}

}
let v751 = *v874;
let v753 = v751 == v31;
if v753 {
let v754 = *v875;
*v874 = v754;

}
if v242 {
let v755 = *v874;
let v756 = f32(v755);
let v758 = v17 * v64;
let v762 = &(*v913)[v758];
*v762 = v756;
let v764 = u32(v755);
let v765 = v19 + v764;
let v769 = &(*v915)[v765];
let v770 = *v769;
let v771 = v770 - v201;
let v775 = v758 + v212;
let v779 = &(*v913)[v775];
*v779 = v771;

}

}
let v781 = select(v136, v31, v242);
*v832 = v781;
let v784 = *v832;
let v786 = v784 != v31;
let v787 = v609 && v786;
if v787 {
let v789 = f32(v784);
let v791 = v17 * v64;
let v795 = &(*v913)[v791];
*v795 = v789;
let v797 = u32(v784);
let v798 = v19 + v797;
let v802 = &(*v915)[v798];
let v803 = *v802;
let v804 = v803 - v201;
let v808 = v791 + v212;
let v812 = &(*v913)[v808];
*v812 = v804;

}
return;

}
