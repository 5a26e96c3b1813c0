# fork-cow.gp -- written by gpusim-bench: the policies of scenario fork-cow.
# Draw again with: gnuplot fork-cow.gp (in this directory)
$data << EOD
# policy sim_time_ns blocked_ns pinned_pages violations
"none" 125615463 0 0 635
"pin" 141842400 0 16384 0
"pin-persistent" 248271908 0 16384 0
"fence-wait" 125942299 1266066 0 0
"fence-reload" 126883803 848434 0 0
"refault" 111118857 5732950 0 0
EOD
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.8
set xtics rotate by 30 right nomirror
set grid ytics
set key off
set terminal svg size 1000,700 dynamic noenhanced font 'sans,11' background '#ffffff'
set output 'fork-cow.svg'
set multiplot layout 2,2 title 'fork-cow'
set title 'GPU completion time (sim_time_ns)'
set ylabel 'ms'
set yrange [0:273.099]
plot $data using ($2 / 1000000):xtic(1) notitle lc rgb '#4477aa'
set title 'invalidator blocked time (notifier.blocked_ns)'
set ylabel 'ms'
set logscale y
set yrange [0.424217:11.4659]
plot $data using ($3 > 0 ? $3 / 1000000 : NaN):xtic(1) notitle lc rgb '#ee6677'
unset logscale y
set title 'pinned pages, peak (host.pinned_pages_peak)'
set ylabel 'pages'
set yrange [0:18022.4]
plot $data using ($4 / 1):xtic(1) notitle lc rgb '#228833'
set title 'violations (checker.use_after_free + stale)'
set ylabel 'count'
set yrange [0:698.5]
plot $data using ($5 / 1):xtic(1) notitle lc rgb '#aa3377'
unset multiplot
unset output
set terminal pngcairo size 1000,700 noenhanced font 'sans,10'
set output 'fork-cow.png'
set multiplot layout 2,2 title 'fork-cow'
set title 'GPU completion time (sim_time_ns)'
set ylabel 'ms'
set yrange [0:273.099]
plot $data using ($2 / 1000000):xtic(1) notitle lc rgb '#4477aa'
set title 'invalidator blocked time (notifier.blocked_ns)'
set ylabel 'ms'
set logscale y
set yrange [0.424217:11.4659]
plot $data using ($3 > 0 ? $3 / 1000000 : NaN):xtic(1) notitle lc rgb '#ee6677'
unset logscale y
set title 'pinned pages, peak (host.pinned_pages_peak)'
set ylabel 'pages'
set yrange [0:18022.4]
plot $data using ($4 / 1):xtic(1) notitle lc rgb '#228833'
set title 'violations (checker.use_after_free + stale)'
set ylabel 'count'
set yrange [0:698.5]
plot $data using ($5 / 1):xtic(1) notitle lc rgb '#aa3377'
unset multiplot
unset output
